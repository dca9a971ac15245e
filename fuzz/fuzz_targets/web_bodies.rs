//! The web API's JSON request bodies, decoded into the types its handlers take (what any
//! client may send before or after logging in).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_shared::api;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<api::LoginRequest>(data);
    let _ = serde_json::from_slice::<api::CreateUserRequest>(data);
    let _ = serde_json::from_slice::<api::CreateTokenRequest>(data);
    let _ = serde_json::from_slice::<api::SignRequest>(data);
    let _ = serde_json::from_slice::<api::NodeRenewRequest>(data);
    let _ = serde_json::from_slice::<api::RotateRequest>(data);
    let _ = serde_json::from_slice::<api::LeafCertRequest>(data);
    let _ = serde_json::from_slice::<api::JoinRequest>(data);
    let _ = serde_json::from_slice::<api::ValidateTrustedClusterRequest>(data);
    let _ = serde_json::from_slice::<api::TrustCheckRequest>(data);
    let _ = serde_json::from_slice::<api::DoctorRequest>(data);
    let _ = serde_json::from_slice::<api::RoleMapPreviewRequest>(data);
});
