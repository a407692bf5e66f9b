//! ChaCha20-Poly1305 (RFC 8439) over one contiguous buffer, from RustCrypto's
//! `chacha20poly1305`, with the tag kept apart from the ciphertext (it sits at
//! the end of the datagram, after the clear header and the sealed body).
//!
//! On bare metal the workspace builds RustCrypto's ChaCha20 and Poly1305 with
//! their portable backends (`--cfg chacha20_force_soft`, `--cfg
//! poly1305_force_soft` in `.cargo/config.toml`): the hypervisor is soft-float
//! and must not touch vector registers, which hold guest state.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Tag};

/// Key length in bytes.
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Authentication tag length in bytes.
pub const TAG_LEN: usize = 16;

/// Encrypts `buffer` in place and returns the tag.
pub fn seal(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> [u8; TAG_LEN] {
    let cipher = ChaCha20Poly1305::new(key.into());
    // Encryption in place into a slice cannot fail: there is no length limit
    // below 2^38 bytes, far above a datagram.
    cipher
        .encrypt_in_place_detached(nonce.into(), aad, buffer)
        .map(Into::into)
        .unwrap_or([0; TAG_LEN])
}

/// Checks `tag` and, only if it is right, decrypts `buffer` in place (the
/// comparison is constant-time, inside RustCrypto).
#[must_use = "an unverified buffer must not be used"]
pub fn open(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(nonce.into(), aad, buffer, Tag::from_slice(tag))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8439 section 2.8.2: the AEAD example, sealed and opened.
    #[test]
    fn aead_rfc8439_vector() {
        let key: [u8; 32] = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap();
        let nonce: [u8; 12] = hex("070000004041424344454647").try_into().unwrap();
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plain = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let mut buf = plain.to_vec();
        let tag = seal(&key, &nonce, &aad, &mut buf);
        assert_eq!(&buf[..16], &hex("d31a8d34648e60db7b86afbc53ef7ec2")[..]);
        assert_eq!(tag.to_vec(), hex("1ae10b594f09e26a7e902ecbd0600691"));
        assert!(open(&key, &nonce, &aad, &mut buf, &tag));
        assert_eq!(&buf[..], &plain[..]);
    }

    /// A wrong tag, or a changed header, leaves the buffer sealed.
    #[test]
    fn refuses_wrong_tag_and_header() {
        let key = [7u8; 32];
        let nonce = [1u8; 12];
        let mut buf = b"console bytes".to_vec();
        let tag = seal(&key, &nonce, b"header", &mut buf);
        let sealed = buf.clone();
        let mut bad = tag;
        bad[0] ^= 1;
        assert!(!open(&key, &nonce, b"header", &mut buf, &bad));
        assert!(!open(&key, &nonce, b"HEADER", &mut buf, &tag));
        assert_eq!(buf, sealed);
        assert!(open(&key, &nonce, b"header", &mut buf, &tag));
        assert_eq!(buf, b"console bytes");
    }
}
