//! `tally.toml`: where each PSA is, who Tally is there, and which catalogue item each plan
//! product is. Credentials are never in it: only the names of the environment variables that
//! hold them (`docs/psa.md`, "Configuration").

use crate::error::PsaError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The parts of `tally.toml` the push reads. Other sections belong to other tools and are
/// ignored; inside these sections an unknown key is an error (a typo must not be silent).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub push: PushConfig,
    pub connectwise: Option<ConnectWiseConfig>,
    pub autotask: Option<AutotaskConfig>,
    pub halopsa: Option<HaloConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// Where the journal lives, relative to `tally.toml`'s directory (default `.tally`).
    pub state_dir: Option<PathBuf>,
    /// A credentials file outside the project (`~/` is the home directory), read when a
    /// credential's environment variable is not set. `TALLY_CREDENTIALS_FILE` overrides it.
    pub credentials_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectWiseConfig {
    /// `https://{site}/v4_6_release/apis/3.0`.
    pub base_url: String,
    /// The company id you log in with (the first part of `company+publicKey`).
    pub company_id: String,
    /// The integration's `clientId` (a GUID from ConnectWise's developer portal; not a secret).
    pub client_id: String,
    /// The variables holding the API member's keys.
    #[serde(default = "cw_public_env")]
    pub public_key_env: String,
    #[serde(default = "cw_private_env")]
    pub private_key_env: String,
    /// `Billable` (default), `DoNotBill` or `NoCharge`.
    #[serde(default = "billable")]
    pub bill_customer: String,
    /// Plan product → ConnectWise catalogue identifier; a product not listed is looked up as is.
    #[serde(default)]
    pub products: BTreeMap<String, String>,
    #[serde(default)]
    pub http: HttpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutotaskConfig {
    /// `https://webservicesN.autotask.net/ATServicesRest` (a trailing `/V1.0` is accepted); when
    /// absent, the zone is looked up with `zone_url`.
    pub base_url: Option<String>,
    #[serde(default = "autotask_zone")]
    pub zone_url: String,
    /// The API user's name (`UserName` header).
    pub username: String,
    #[serde(default = "at_code_env")]
    pub integration_code_env: String,
    #[serde(default = "at_secret_env")]
    pub secret_env: String,
    /// Plan product → Autotask service name.
    #[serde(default)]
    pub products: BTreeMap<String, String>,
    #[serde(default)]
    pub http: HttpSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaloConfig {
    /// `https://{tenant}.halopsa.com`: the API is at `/api`, the token at `/auth/token`.
    pub base_url: String,
    pub client_id: String,
    #[serde(default = "halo_secret_env")]
    pub client_secret_env: String,
    /// Plan product → Halo item name.
    #[serde(default)]
    pub products: BTreeMap<String, String>,
    #[serde(default)]
    pub http: HttpSettings,
}

/// Retries, timeouts and concurrency for one PSA.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Tries per request (the first one included) before the run stops cleanly.
    pub max_attempts: u32,
    /// Backoff before the second try; doubles each time up to `max_delay_ms`, with jitter.
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// A `Retry-After` longer than this stops the run instead of waiting.
    pub max_retry_after_s: u64,
    /// Time for one whole request and its answer.
    pub timeout_s: u64,
    pub connect_timeout_s: u64,
    /// Requests in flight at once to this PSA.
    pub concurrency: usize,
    /// Seeds the jitter (tests); by default it is seeded from the clock.
    pub jitter_seed: Option<u64>,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            max_attempts: 6,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
            max_retry_after_s: 120,
            timeout_s: 60,
            connect_timeout_s: 10,
            concurrency: 4,
            jitter_seed: None,
        }
    }
}

fn cw_public_env() -> String {
    "TALLY_CONNECTWISE_PUBLIC_KEY".into()
}
fn cw_private_env() -> String {
    "TALLY_CONNECTWISE_PRIVATE_KEY".into()
}
fn billable() -> String {
    "Billable".into()
}
fn autotask_zone() -> String {
    "https://webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation".into()
}
fn at_code_env() -> String {
    "TALLY_AUTOTASK_INTEGRATION_CODE".into()
}
fn at_secret_env() -> String {
    "TALLY_AUTOTASK_SECRET".into()
}
fn halo_secret_env() -> String {
    "TALLY_HALOPSA_CLIENT_SECRET".into()
}

impl Config {
    /// Parses `tally.toml`'s text; `name` is how errors refer to the file.
    pub fn parse(text: &str, name: &str) -> Result<Config, PsaError> {
        // The message and the line only: TOML's own rendering quotes the line, which could be a
        // secret someone wrote in the wrong place.
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| {
                text.bytes()
                    .take(span.start)
                    .filter(|b| *b == b'\n')
                    .count()
                    + 1
            });
            let place = line.map(|l| format!(" line {l}")).unwrap_or_default();
            PsaError::Config(format!("`{name}`{place}: {}", one_line(e.message())))
        })?;
        config.check(name)?;
        Ok(config)
    }

    fn check(&self, name: &str) -> Result<(), PsaError> {
        let urls = [
            self.connectwise
                .as_ref()
                .map(|c| ("connectwise", &c.base_url)),
            self.autotask
                .as_ref()
                .and_then(|c| c.base_url.as_ref().map(|u| ("autotask", u))),
            self.autotask.as_ref().map(|c| ("autotask", &c.zone_url)),
            self.halopsa.as_ref().map(|c| ("halopsa", &c.base_url)),
        ];
        for (section, url) in urls.into_iter().flatten() {
            check_url(url).map_err(|why| {
                PsaError::Config(format!("`{name}`: [{section}] base URL `{url}` {why}"))
            })?;
        }
        let settings = [
            self.connectwise.as_ref().map(|c| ("connectwise", &c.http)),
            self.autotask.as_ref().map(|c| ("autotask", &c.http)),
            self.halopsa.as_ref().map(|c| ("halopsa", &c.http)),
        ];
        for (section, http) in settings.into_iter().flatten() {
            if http.max_attempts == 0 || http.concurrency == 0 || http.timeout_s == 0 {
                return Err(PsaError::Config(format!(
                    "`{name}`: [{section}.http] max_attempts, concurrency and timeout_s must be at least 1"
                )));
            }
        }
        Ok(())
    }
}

/// Credentials travel only over HTTPS; plain HTTP is allowed to this machine alone (test
/// servers).
pub(crate) fn check_url(url: &str) -> Result<(), &'static str> {
    if let Some(rest) = url.strip_prefix("https://") {
        return if rest.is_empty() {
            Err("has no host")
        } else {
            Ok(())
        };
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next().unwrap_or_default();
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        return if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            Ok(())
        } else {
            Err("must be https (plain http only to this machine)")
        };
    }
    Err("must start with https://")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The environment variable naming a credentials file; it overrides `[push] credentials_file`.
pub const CREDENTIALS_FILE_ENV: &str = "TALLY_CREDENTIALS_FILE";

/// Where credentials come from: each credential's environment variable first, then the
/// credentials file (a TOML file outside the project with one table per PSA:
/// `[connectwise] public_key, private_key`, `[autotask] integration_code, secret`,
/// `[halopsa] client_secret`). Values are never shown: errors name only the variable, the
/// file, the table and the key.
/// A credentials file's tables: `[section] key = "value"`.
type Tables = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// The file and its tables (`None` when the file does not exist).
    file: Option<(PathBuf, Option<Tables>)>,
}

impl Credentials {
    /// Environment variables only.
    pub fn env_only() -> Credentials {
        Credentials::default()
    }

    /// Reads the credentials file named by `TALLY_CREDENTIALS_FILE` or by `configured`
    /// (relative to `project`, `~/` the home directory), if either names one. The file must be
    /// outside `project` (credentials are never kept in the repository) and, on Unix, readable
    /// by its owner only.
    pub fn load(configured: Option<&Path>, project: &Path) -> Result<Credentials, PsaError> {
        let from_env = std::env::var_os(CREDENTIALS_FILE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let Some(named) = from_env.or_else(|| configured.map(Path::to_path_buf)) else {
            return Ok(Credentials::default());
        };
        let path = expand_home(&named, project);
        let shown = path.display().to_string();
        let canonical = match path.canonicalize() {
            Ok(canonical) => canonical,
            // Not there (a machine where the variables are set instead): only an error when a
            // credential is missing from the variables too.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Credentials {
                    file: Some((path, None)),
                });
            }
            Err(e) => {
                return Err(PsaError::Credential(format!(
                    "credentials file `{shown}`: {}",
                    e.kind()
                )));
            }
        };
        if let Ok(project) = project.canonicalize()
            && canonical.starts_with(&project)
        {
            return Err(PsaError::Credential(format!(
                "credentials file `{shown}` is inside the project `{}`: keep credentials outside the repository",
                project.display()
            )));
        }
        check_private(&canonical, &shown)?;
        let text = std::fs::read_to_string(&canonical).map_err(|e| {
            PsaError::Credential(format!("credentials file `{shown}`: {}", e.kind()))
        })?;
        // The line only, never TOML's message: it may quote a value.
        let tables: Tables =
            toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|span| text.bytes().take(span.start).filter(|b| *b == b'\n').count() + 1);
                PsaError::Credential(format!(
                    "credentials file `{shown}`{}: not a credentials file (tables of text keys: [connectwise] public_key = \"…\")",
                    line.map(|l| format!(" line {l}")).unwrap_or_default()
                ))
            })?;
        Ok(Credentials {
            file: Some((path, Some(tables))),
        })
    }

    /// One credential: the environment variable if set, else `[section] key` in the
    /// credentials file. Missing everywhere is a one-line error naming the variable.
    pub fn get(
        &self,
        psa: &str,
        variable: &str,
        section: &str,
        key: &str,
    ) -> Result<String, PsaError> {
        match std::env::var(variable) {
            Ok(value) if !value.trim().is_empty() => return Ok(value),
            Ok(_) => {
                return Err(PsaError::Credential(format!(
                    "{psa} credentials: the environment variable `{variable}` is empty"
                )));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(PsaError::Credential(format!(
                    "{psa} credentials: the environment variable `{variable}` is not valid text"
                )));
            }
            Err(std::env::VarError::NotPresent) => {}
        }
        match &self.file {
            Some((path, None)) => Err(PsaError::Credential(format!(
                "{psa} credentials: set the environment variable `{variable}` (the credentials file `{}` does not exist)",
                path.display()
            ))),
            Some((path, Some(tables))) => match tables.get(section).and_then(|t| t.get(key)) {
                Some(value) if !value.trim().is_empty() => Ok(value.clone()),
                _ => Err(PsaError::Credential(format!(
                    "{psa} credentials: set the environment variable `{variable}`, or `{key}` under [{section}] in `{}`",
                    path.display()
                ))),
            },
            None => Err(PsaError::Credential(format!(
                "{psa} credentials: set the environment variable `{variable}`"
            ))),
        }
    }
}

fn expand_home(path: &Path, project: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
    {
        return PathBuf::from(home).join(rest);
    }
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        project.join(path)
    }
}

#[cfg(unix)]
fn check_private(path: &Path, shown: &str) -> Result<(), PsaError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map_err(|e| PsaError::Credential(format!("credentials file `{shown}`: {}", e.kind())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(PsaError::Credential(format!(
            "credentials file `{shown}` can be read by others (mode {:o}): `chmod 600` it",
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _shown: &str) -> Result<(), PsaError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_except_to_this_machine() {
        assert!(check_url("https://api-na.myconnectwise.net/v4_6_release/apis/3.0").is_ok());
        assert!(check_url("http://127.0.0.1:4000/v4_6_release/apis/3.0").is_ok());
        assert!(check_url("http://localhost/x").is_ok());
        assert!(check_url("http://example.com/x").is_err());
        assert!(check_url("ftp://x").is_err());
    }

    #[test]
    fn unknown_keys_in_a_psa_section_are_errors() {
        let text = "[connectwise]\nbase_url = \"https://x\"\ncompany_id = \"a\"\nclient_id = \"b\"\nprivate_key = \"oops\"\n";
        let error = Config::parse(text, "tally.toml").unwrap_err().to_string();
        assert!(error.contains("private_key"), "{error}");
        assert!(!error.contains("oops"), "{error}");
    }

    #[test]
    fn other_tools_sections_are_ignored() {
        let text = "[fmt]\nwidth = 100\n[connectwise]\nbase_url = \"https://x\"\ncompany_id = \"a\"\nclient_id = \"b\"\n[connectwise.products]\n\"MS-SUPPORT\" = \"SUPPORT\"\n";
        let config = Config::parse(text, "tally.toml").unwrap();
        let cw = config.connectwise.unwrap();
        assert_eq!(cw.products["MS-SUPPORT"], "SUPPORT");
        assert_eq!(cw.public_key_env, "TALLY_CONNECTWISE_PUBLIC_KEY");
        assert_eq!(cw.http.max_attempts, 6);
    }

    #[test]
    fn credentials_come_from_the_variable_then_the_file_outside_the_project() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let file = home.path().join("credentials.toml");
        std::fs::write(
            &file,
            "[connectwise]\npublic_key = \"pub-from-file\"\nprivate_key = \"priv-from-file\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let credentials = Credentials::load(Some(&file), project.path()).unwrap();
        let got = credentials
            .get(
                "ConnectWise",
                "TALLY_TEST_UNSET_VARIABLE_1",
                "connectwise",
                "private_key",
            )
            .unwrap();
        assert_eq!(got, "priv-from-file");
        let missing = credentials
            .get(
                "ConnectWise",
                "TALLY_TEST_UNSET_VARIABLE_1",
                "autotask",
                "secret",
            )
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("`TALLY_TEST_UNSET_VARIABLE_1`") && missing.contains("[autotask]"),
            "{missing}"
        );
        assert!(!missing.contains("priv-from-file"), "{missing}");

        // A configured file that is not there is no error until a credential is missing.
        let absent =
            Credentials::load(Some(&home.path().join("none.toml")), project.path()).unwrap();
        let error = absent
            .get(
                "ConnectWise",
                "TALLY_TEST_UNSET_VARIABLE_1",
                "connectwise",
                "private_key",
            )
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");

        // Inside the project: refused.
        let inside = project.path().join("credentials.toml");
        std::fs::copy(&file, &inside).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let error = Credentials::load(Some(Path::new("credentials.toml")), project.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("inside the project"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn a_credentials_file_others_can_read_is_refused_and_bad_toml_is_not_quoted() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let file = home.path().join("credentials.toml");
        std::fs::write(&file, "[connectwise]\nprivate_key = oops-secret-value\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = Credentials::load(Some(&file), project.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("chmod 600"), "{error}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let error = Credentials::load(Some(&file), project.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 2") && !error.contains("oops-secret-value"),
            "{error}"
        );
    }
}
