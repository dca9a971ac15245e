//! The reverse tunnel's flow layer: a peer's frames (length words, data, acks, end) read by the
//! same reassembler the transports use, cut into chunks where the input says. Whatever the
//! cuts, the stream must read the same as in one piece: no input panics, and no cut changes
//! what it means.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_proxy::tunnel::flow::read_stream;

fuzz_target!(|data: &[u8]| {
    let Some((&first, wire)) = data.split_first() else { return };
    // Cut points from the first byte: chunks of 1 to 256 bytes, of the same length each.
    let size = usize::from(first) + 1;
    let chunks: Vec<&[u8]> = wire.chunks(size).collect();
    let whole = read_stream(&[wire]);
    let cut = read_stream(&chunks);
    match (&whole, &cut) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "cut into {size}-byte chunks"),
        (Err(_), Err(_)) => {}
        // A refusal must not depend on how the stream was cut either.
        _ => panic!("whole {whole:?} but cut into {size}-byte chunks {cut:?}"),
    }
});
