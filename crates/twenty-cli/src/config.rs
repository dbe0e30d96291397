//! Where the command keeps its state: named profiles (API URL and key) in a
//! JSON file under the platform config dir, the schema cached per profile,
//! and the sandbox's data dir.
//!
//! `TWENTY_CONFIG_DIR` and `TWENTY_DATA_DIR` override the platform dirs so
//! tests never touch a real home directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The profile used when neither `--profile` nor `TWENTY_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "default";

/// The config dir: `TWENTY_CONFIG_DIR`, else the platform's.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TWENTY_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "twenty")
        .map(|d| d.config_dir().to_path_buf())
        .context("cannot find a config directory; set TWENTY_CONFIG_DIR")
}

/// The data dir: `TWENTY_DATA_DIR`, else the platform's.
pub fn data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TWENTY_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "twenty")
        .map(|d| d.data_dir().to_path_buf())
        .context("cannot find a data directory; set TWENTY_DATA_DIR")
}

/// One named set of credentials.
#[derive(Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    /// Base URL of the workspace, such as `https://crm.example.com`.
    pub api_url: Option<String>,
    /// The API key; `Debug` shows only whether there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_url", &self.api_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The whole config file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl ConfigFile {
    fn path() -> Result<PathBuf> {
        Ok(config_dir()?.join("config.json"))
    }

    /// Reads the config file; a missing file is an empty config.
    pub fn load() -> Result<Self> {
        let path = Self::path()?;
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("failed to read `{}`", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("failed to read `{}`", path.display())),
        }
    }

    /// Writes the config file readable by its owner only, since it holds
    /// API keys.
    pub fn save(&self) -> Result<PathBuf> {
        let path = Self::path()?;
        let text = serde_json::to_string_pretty(self)?;
        write_private(&path, text.as_bytes())?;
        Ok(path)
    }
}

/// Writes `bytes` to `path` with mode 0600, creating the parent dirs.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    // The mode above applies only to a new file; an older one is tightened.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("failed to set permissions of `{}`", path.display()))?;
    }
    file.write_all(bytes)
        .with_context(|| format!("failed to write `{}`", path.display()))
}

/// Where the schema fetched for `profile` is cached: the document as the
/// server sent it, and the catalog read from it (quick to load).
pub fn schema_cache(profile: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = config_dir()?.join("schemas");
    Ok((
        dir.join(format!("{profile}.openapi.json")),
        dir.join(format!("{profile}.catalog.json")),
    ))
}

/// Reads an API key file: trimmed, with a pasted `Bearer ` prefix removed.
pub fn read_key_file(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("failed to read the API key file `{}`", path.display()))?;
    Ok(clean_key(&text))
}

/// Trims a pasted key and drops a `Bearer ` prefix.
pub fn clean_key(text: &str) -> String {
    let key = text.trim();
    key.strip_prefix("Bearer ")
        .or_else(|| key.strip_prefix("bearer "))
        .unwrap_or(key)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_key_trims_and_drops_bearer() {
        assert_eq!(clean_key("  abc.def\n"), "abc.def");
        assert_eq!(clean_key("Bearer abc.def\n"), "abc.def");
    }
}
