//! Feeds arbitrary bytes to the compiled-table reader: it must return, never panic.
//! Inputs that happen to decode must also validate and re-encode to the same bytes.
#![no_main]

use bulkhead_config::Deployment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(deployment) = Deployment::from_bytes(data) {
        assert!(deployment.validate().is_ok());
        let again = deployment.to_bytes().expect("a decoded table encodes");
        assert_eq!(Deployment::from_bytes(&again).ok(), Some(deployment));
    }
});
