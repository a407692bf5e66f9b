//! The deployment's console key, read from the same kind of file the deployment's
//! `key_file` names (docs/config.md, `[hypervisor.console]`): hex text, whitespace
//! around it ignored, or the raw bytes. The config crate's reader decodes it, so the
//! file a deployment was built from works here unchanged.

use std::path::Path;

use bulkhead_config::limits::MIN_CONSOLE_KEY_LEN;

use crate::error::CliError;

/// The environment variable that names the key file when `--key-file` is not given.
pub const KEY_FILE_ENV: &str = "BULKHEAD_CONSOLE_KEY_FILE";

/// Reads and checks the key file.
pub fn load(path: Option<&Path>) -> Result<Vec<u8>, CliError> {
    let path = path.ok_or(CliError::NoKeyFile)?;
    let bytes = std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(bytes).map_err(|len| CliError::KeyTooShort {
        path: path.to_path_buf(),
        len,
    })
}

/// The key a file's contents hold, or the too-short length. Text that is an even
/// number of hex digits (after trimming) is hex; anything else is the key itself.
pub fn parse(bytes: Vec<u8>) -> Result<Vec<u8>, usize> {
    let key = bulkhead_config::key_from_file(bytes);
    if key.len() < MIN_CONSOLE_KEY_LEN {
        return Err(key.len());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

    fn counting() -> Vec<u8> {
        (0..32).collect()
    }

    /// Hex text with a trailing newline (as `xxd -p -c 32` or an editor leaves it)
    /// decodes, in either case.
    #[test]
    fn hex_text() {
        assert_eq!(parse(HEX.as_bytes().to_vec()), Ok(counting()));
        assert_eq!(parse(format!("  {HEX}\n").into_bytes()), Ok(counting()));
    }

    /// Raw bytes (`head -c 32 /dev/urandom`) are the key as they are.
    #[test]
    fn raw_bytes() {
        let raw: Vec<u8> = (200..=255).collect();
        assert_eq!(parse(raw.clone()), Ok(raw));
        // 40 bytes of printable text that is not hex is raw too.
        let text = b"this is a passphrase, not hex, 40 bytes.".to_vec();
        assert_eq!(parse(text.clone()), Ok(text));
    }

    /// Short keys are refused with their length: short hex counts decoded bytes.
    #[test]
    fn too_short() {
        assert_eq!(parse(Vec::new()), Err(0));
        assert_eq!(parse(b"\n".to_vec()), Err(1));
        assert_eq!(parse(HEX.as_bytes()[..62].to_vec()), Err(31));
        assert_eq!(parse(vec![7; 31]), Err(31));
    }

    /// An odd number of hex digits, or a sign, is not hex: the text is the raw key.
    #[test]
    fn not_quite_hex_is_raw() {
        let odd = format!("{HEX}0");
        assert_eq!(parse(odd.clone().into_bytes()), Ok(odd.into_bytes()));
        let signed = format!("+1{}", &HEX[2..]);
        assert_eq!(parse(signed.clone().into_bytes()), Ok(signed.into_bytes()));
    }

    /// A missing file and a missing option are errors that say what to do.
    #[test]
    fn load_errors() {
        let none = load(None).unwrap_err().to_string();
        assert!(
            none.contains("--key-file") && none.contains(KEY_FILE_ENV),
            "{none}"
        );
        let missing = load(Some(Path::new("/nonexistent/console.key"))).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/console.key"));
    }
}
