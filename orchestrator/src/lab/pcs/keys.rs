//! The SSH keys of the virtual PCs: one user key made for the lab (every PC authorizes
//! it), one host key per PC, and the known_hosts file that pins each PC's host key to
//! its address.
//!
//! Keys are made once and survive `lab down`, so a known_hosts copied elsewhere stays
//! valid across rebuilds; `lab down --purge` deletes them with the rest of `.lab/pcs`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::command::run_ok;
use super::state::PcsDirs;
use super::{PcsError, PcsPlan, make_dir, write};

/// Comment of the lab's user key, so it is recognizable in an authorized_keys file.
const KEY_COMMENT: &str = "demo-lab-pcs";

/// Makes the missing keys and writes every PC's authorized_keys and the known_hosts file.
pub async fn ensure(plan: &PcsPlan, dirs: &PcsDirs) -> Result<(), PcsError> {
    make_dir(&dirs.root)?;
    ensure_key(&dirs.identity_file(), KEY_COMMENT).await?;
    let user_key = public_key(&dirs.identity_file())?;
    let mut known_hosts = String::new();
    for index in plan.indexes() {
        make_dir(&dirs.ssh_dir(index))?;
        let host_key = dirs.host_key(index);
        ensure_key(&host_key, &plan.namespace(index)).await?;
        known_hosts.push_str(&format!(
            "{} {}\n",
            plan.pc_address(index),
            public_key(&host_key)?
        ));
        write(&dirs.authorized_keys(index), &format!("{user_key}\n"))?;
    }
    write(&dirs.known_hosts(), &known_hosts)
}

/// Makes an ed25519 key pair without passphrase at `path` unless both halves exist.
async fn ensure_key(path: &Path, comment: &str) -> Result<(), PcsError> {
    let public = public_path(path);
    if path.is_file() && public.is_file() {
        return Ok(());
    }
    // ssh-keygen asks before overwriting: a lone half is removed first.
    for half in [path, public.as_path()] {
        if half.exists() {
            std::fs::remove_file(half)
                .map_err(PcsError::io(format!("removing {}", half.display())))?;
        }
    }
    let args = ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"]
        .map(OsStr::new)
        .into_iter()
        .chain(std::iter::once(path.as_os_str()));
    run_ok("ssh-keygen", args).await.map(|_| ())
}

fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

/// `ssh-ed25519 AAAA...` (type and key, without the comment) of a key pair.
fn public_key(path: &Path) -> Result<String, PcsError> {
    let public = public_path(path);
    let text = std::fs::read_to_string(&public)
        .map_err(PcsError::io(format!("reading {}", public.display())))?;
    let fields: Vec<&str> = text.split_whitespace().take(2).collect();
    if fields.len() == 2 {
        Ok(fields.join(" "))
    } else {
        Err(PcsError::BadRecord {
            path: public,
            detail: "expected `<type> <key> [comment]`".to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_half_sits_next_to_the_private_one() {
        assert_eq!(
            public_path(Path::new("/lab/pcs/id_ed25519")),
            Path::new("/lab/pcs/id_ed25519.pub")
        );
    }

    #[test]
    fn a_public_key_is_read_without_its_comment() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k");
        std::fs::write(public_path(&key), "ssh-ed25519 AAAAC3Nz pc1\n").unwrap();
        assert_eq!(public_key(&key).unwrap(), "ssh-ed25519 AAAAC3Nz");
        std::fs::write(public_path(&key), "garbage\n").unwrap();
        assert!(public_key(&key).is_err());
    }
}
