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

use crate::UsageError;

/// The profile used when neither `--profile` nor `TWENTY_PROFILE` names one.
pub const DEFAULT_PROFILE: &str = "default";

/// The longest profile name; names become file names.
const MAX_PROFILE_NAME: usize = 64;

/// The profile a run uses, with a name that is safe in a file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileName {
    /// The name.
    pub name: String,
    /// Whether the user named it (`--profile` or `TWENTY_PROFILE`, even
    /// as `default`) rather than falling back to [`DEFAULT_PROFILE`]: a
    /// named profile must have been saved, and its URL and key are used
    /// together.
    pub named: bool,
}

impl ProfileName {
    /// `flag` (the value of `--profile`), else `TWENTY_PROFILE`, else
    /// [`DEFAULT_PROFILE`], checked with [`check_profile_name`].
    pub fn choose(flag: Option<&str>) -> Result<ProfileName, UsageError> {
        let (name, source) = match flag {
            Some(name) => (name.to_string(), "--profile"),
            None => match std::env::var("TWENTY_PROFILE") {
                Ok(name) if !name.is_empty() => (name, "$TWENTY_PROFILE"),
                _ => {
                    return Ok(ProfileName {
                        name: DEFAULT_PROFILE.to_string(),
                        named: false,
                    });
                }
            },
        };
        check_profile_name(&name, source)?;
        Ok(ProfileName { name, named: true })
    }
}

/// Refuses a profile name that is empty, long, or holds anything but
/// ASCII letters, digits, `-` and `_`: the name becomes part of file
/// names in the config dir, so `../x` or `a/b` would write elsewhere.
pub fn check_profile_name(name: &str, source: &str) -> Result<(), UsageError> {
    let safe = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if safe {
        return Ok(());
    }
    Err(UsageError::new(
        format!("{source} `{name}` is not a valid profile name"),
        Some(format!(
            "use 1 to {MAX_PROFILE_NAME} letters, digits, `-` or `_`, such as `work` or `staging-2`"
        )),
    ))
}

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
    /// Whether `api_url` is plain http to another machine, saved on
    /// purpose with `auth login --allow-insecure-http`, so later commands
    /// need not repeat the flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure_http: bool,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("api_url", &self.api_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("allow_insecure_http", &self.allow_insecure_http)
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

    /// The saved profile `profile` names, if any. A profile the user named
    /// that was never saved is an error listing the saved ones; the
    /// default profile may be absent (credentials then come from flags and
    /// the environment).
    pub fn profile(&self, profile: &ProfileName) -> Result<Option<&Profile>, UsageError> {
        match self.profiles.get(&profile.name) {
            Some(saved) => Ok(Some(saved)),
            None if !profile.named => Ok(None),
            None => Err(self.unknown_profile(&profile.name)),
        }
    }

    fn unknown_profile(&self, name: &str) -> UsageError {
        let login = format!("`twenty auth login --profile {name} --api-url URL` saves it");
        let hint = if self.profiles.is_empty() {
            format!("no profile is saved yet; {login}")
        } else {
            let known: Vec<String> = self.profiles.keys().map(|k| format!("`{k}`")).collect();
            format!("saved profiles: {}; {login}", known.join(", "))
        };
        UsageError::new(format!("unknown profile `{name}`"), Some(hint))
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

/// Creates `dir` and any missing parents with mode 0700, as the place for
/// the sandbox's stores: they hold a workspace's records, which other
/// users of the machine have no business reading. A dir that exists is
/// left as it is.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("failed to create `{}`", dir.display()))
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
///
/// The name is checked again here, since it becomes a file name.
pub fn schema_cache(profile: &str) -> Result<(PathBuf, PathBuf)> {
    check_profile_name(profile, "profile")?;
    let dir = config_dir()?.join("schemas");
    Ok((
        dir.join(format!("{profile}.openapi.json")),
        dir.join(format!("{profile}.catalog.json")),
    ))
}

/// Where the base URL of the server a cached schema came from is kept, so
/// that the schema serves only that server.
pub fn schema_cache_server(profile: &str) -> Result<PathBuf> {
    check_profile_name(profile, "profile")?;
    Ok(config_dir()?
        .join("schemas")
        .join(format!("{profile}.server")))
}

/// Deletes the schema cached for `profile`; returns whether there was one.
pub fn remove_schema_cache(profile: &str) -> Result<bool> {
    let (document, catalog) = schema_cache(profile)?;
    let mut removed = false;
    for path in [document, catalog, schema_cache_server(profile)?] {
        match fs::remove_file(&path) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("failed to remove `{}`", path.display()));
            }
        }
    }
    Ok(removed)
}

/// Reads an API key file: trimmed, with a pasted `Bearer ` prefix removed.
/// A file that cannot be read is a usage error naming it: the path is
/// what the user typed.
pub fn read_key_file(path: &Path) -> Result<String, UsageError> {
    let text = fs::read_to_string(path).map_err(|e| {
        UsageError::new(
            format!(
                "failed to read the API key file `{}`: {}",
                path.display(),
                crate::io_reason(&e)
            ),
            None,
        )
    })?;
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
    fn profile_names_are_safe_file_names() {
        for good in ["default", "work", "staging-2", "a_b", "X9"] {
            assert_eq!(check_profile_name(good, "--profile"), Ok(()), "{good}");
        }
        for bad in [
            "",
            "../../evil",
            "a/b",
            "a\\b",
            ".",
            "..",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            let err = check_profile_name(bad, "--profile").unwrap_err();
            assert!(err.message.contains("not a valid profile name"), "{bad}");
        }
    }

    #[test]
    fn clean_key_trims_and_drops_bearer() {
        assert_eq!(clean_key("  abc.def\n"), "abc.def");
        assert_eq!(clean_key("Bearer abc.def\n"), "abc.def");
    }
}
