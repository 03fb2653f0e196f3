//! The embedded development signing key: RSA 2048, generated on first use and
//! kept as `<data-dir>/dev-signing-key.pem` (PKCS#8, mode 0600).
//!
//! Only for a node that has no external key source: `serve` trusts its public
//! half and `baton token` signs with it.

use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use anyhow::Context as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use rsa::RsaPrivateKey;

/// The development key pair, as PEM text.
pub struct DevKey {
    /// PKCS#8 `PRIVATE KEY` PEM.
    pub private_pem: String,
    /// SPKI `PUBLIC KEY` PEM.
    pub public_pem: String,
}

impl std::fmt::Debug for DevKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevKey")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

impl DevKey {
    /// File name of the key inside the data directory.
    pub const FILE_NAME: &'static str = "dev-signing-key.pem";
    const BITS: usize = 2048;

    /// Reads the key from `data_dir`, or generates and stores it (creating the
    /// directory) when there is none yet.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<DevKey> {
        let path = data_dir.join(Self::FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(pem) => {
                warn_if_readable_by_others(&path);
                Self::from_private_pem(pem)
                    .with_context(|| format!("dev key {} is not a PKCS#8 RSA key", path.display()))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Self::create(data_dir, &path),
            Err(e) => Err(e).with_context(|| format!("cannot read dev key {}", path.display())),
        }
    }

    fn from_private_pem(private_pem: String) -> anyhow::Result<DevKey> {
        let key = RsaPrivateKey::from_pkcs8_pem(&private_pem)?;
        let public_pem = key.to_public_key().to_public_key_pem(LineEnding::LF)?;
        Ok(DevKey {
            private_pem,
            public_pem,
        })
    }

    fn create(data_dir: &Path, path: &Path) -> anyhow::Result<DevKey> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, Self::BITS)
            .context("generating the dev key")?;
        let private_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .context("encoding the dev key")?;
        write_private(path, private_pem.as_bytes())
            .with_context(|| format!("cannot write dev key {}", path.display()))?;
        tracing::info!(path = %path.display(), "generated a development signing key");
        Self::from_private_pem(private_pem.to_string())
    }
}

/// Writes a temporary file readable by the owner only, then renames it into
/// place, so a crash never leaves a truncated key behind.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("pem.tmp-{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "dev signing key is accessible to other users; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("nested/data");
        let first = DevKey::load_or_create(&data_dir).expect("generates");
        assert!(first.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(first.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let again = DevKey::load_or_create(&data_dir).expect("reloads");
        assert_eq!(first.private_pem, again.private_pem);
        assert_eq!(first.public_pem, again.public_pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(data_dir.join(DevKey::FILE_NAME))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            !format!("{first:?}").contains("PRIVATE"),
            "Debug must not leak the key"
        );
    }

    #[test]
    fn corrupt_key_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(DevKey::FILE_NAME), "not a key").expect("write");
        let err = DevKey::load_or_create(dir.path()).expect_err("must fail");
        assert!(err.to_string().contains(DevKey::FILE_NAME), "{err}");
    }
}
