//! The database's API: the zone, answers checked, queries followed page after page, and
//! journaled writes.

use super::{Autotask, NAME, wire};
use crate::adapter_common::answers::{RefusedCredentials, Wording, check_status, fetch_json};
use crate::adapter_common::journaled_write::{expect_status, send_journaled};
use crate::adapter_common::{lock, request_body};
use crate::answer::parse;
use crate::config::check_url;
use crate::error::{PsaError, excerpt};
use crate::http::{Http, Method, Request};
use crate::push::WriteLog;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A safety stop for paging that never ends: 500 pages of 500 records.
const MAX_PAGES: usize = 500;

/// The database's API, once its zone is known.
pub(super) struct Api {
    pub(super) http: Http,
    /// `https://webservicesN.autotask.net/ATServicesRest`.
    pub(super) base: String,
}

/// `…/ATServicesRest/V1.0/ZoneInformation` → (`…/ATServicesRest`, `/V1.0/ZoneInformation`).
pub(super) fn split_version(url: &str) -> (String, String) {
    let lower = url.to_ascii_lowercase();
    match lower.rfind("/v1.0") {
        Some(at) => (
            url[..at].trim_end_matches('/').to_string(),
            url[at..].to_string(),
        ),
        None => (url.trim_end_matches('/').to_string(), String::new()),
    }
}

/// Whether the zone lookup's answer names a host the credentials may go to: Autotask's own
/// (`*.autotask.net`), or this machine (the test fake).
pub(super) fn autotask_host(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_end_matches('.');
    host.ends_with(".autotask.net") || matches!(host, "127.0.0.1" | "localhost")
}

impl Autotask {
    /// The database's API: `base_url`, else the zone lookup's answer (once per run).
    pub(super) fn api(&self) -> Result<Arc<Api>, PsaError> {
        if let Some(api) = lock(&self.api).as_ref() {
            return Ok(api.clone());
        }
        let base = match &self.config.base_url {
            Some(url) => split_version(url).0,
            None => self.discover()?,
        };
        let http = Http::new(
            NAME,
            &base,
            self.settings.clone(),
            self.headers.clone(),
            self.redactor.clone(),
            self.observer.clone(),
        );
        let api = Arc::new(Api { http, base });
        *lock(&self.api) = Some(api.clone());
        Ok(api)
    }

    pub(super) fn discover(&self) -> Result<String, PsaError> {
        let (_, path) = split_version(&self.config.zone_url);
        let separator = if path.contains('?') { '&' } else { '?' };
        let request = Request::get(format!(
            "{path}{separator}user={}",
            crate::answer::encode(&self.config.username)
        ));
        let (zone, _): (wire::Zone, _) = fetch_json(
            &self.zone,
            &request,
            &self.wording(),
            "the zone information",
        )?;
        let (base, _) = split_version(&zone.url);
        check_url(&base)
            .and_then(|()| {
                if autotask_host(&base) {
                    Ok(())
                } else {
                    Err("is not an Autotask host (`*.autotask.net`): the credentials are not sent there; set `base_url` to use another")
                }
            })
            .map_err(|why| {
            PsaError::from(
                self.zone
                    .error(&request, format!("the zone's url `{}` {why}", zone.url)),
            )
        })?;
        Ok(base)
    }

    /// A 401 names the variables and the user; Autotask's `{"errors":[…]}` is quoted.
    pub(super) fn wording(&self) -> Wording<'_> {
        Wording {
            refused: Some(RefusedCredentials {
                variables: [&self.config.integration_code_env, &self.config.secret_env],
                account: ("username", &self.config.username),
            }),
            detail: wire::error_detail,
        }
    }

    pub(super) fn fetch<T: DeserializeOwned>(
        &self,
        http: &Http,
        request: &Request,
        expected: &str,
    ) -> Result<T, PsaError> {
        fetch_json(http, request, &self.wording(), expected).map(|(value, _)| value)
    }

    /// An answer of `entity`'s query that cannot be right.
    pub(super) fn bad_answer(&self, api: &Api, entity: &str, problem: &str) -> PsaError {
        let request = Request::with_body(
            Method::Post,
            format!("/V1.0/{entity}/query"),
            String::new(),
            true,
        );
        api.http.error(&request, problem).into()
    }

    /// Every entity matching `filter`, page after page.
    pub(super) fn query<T: DeserializeOwned>(
        &self,
        api: &Api,
        entity: &str,
        filter: Vec<serde_json::Value>,
    ) -> Result<Vec<T>, PsaError> {
        let expected = format!("{{\"items\":[…]}} of {entity}");
        let mut request = Request::with_body(
            Method::Post,
            format!("/V1.0/{entity}/query"),
            wire::query(filter),
            true,
        );
        let mut all = Vec::new();
        let mut seen = BTreeSet::new();
        for _ in 0..MAX_PAGES {
            let page: wire::Page<T> = self.fetch(&api.http, &request, &expected)?;
            let empty = page.items.is_empty();
            all.extend(page.items);
            let next = page
                .page_details
                .and_then(|d| d.next_page_url)
                .filter(|u| !u.is_empty());
            match next {
                Some(next) if !empty => {
                    if !next
                        .to_ascii_lowercase()
                        .starts_with(&format!("{}/", api.base.to_ascii_lowercase()))
                    {
                        return Err(api
                            .http
                            .error(
                                &request,
                                format!(
                                    "`nextPageUrl` points elsewhere (`{}`): not followed",
                                    excerpt(&next, 80)
                                ),
                            )
                            .into());
                    }
                    if !seen.insert(next.clone()) {
                        return Err(api
                            .http
                            .error(
                                &request,
                                format!(
                                    "`nextPageUrl` repeats an earlier page (`{}`): the answer would never end",
                                    excerpt(&next, 80)
                                ),
                            )
                            .into());
                    }
                    request = Request::get(next);
                }
                _ => return Ok(all),
            }
        }
        Err(api
            .http
            .error(
                &request,
                format!("more than {MAX_PAGES} pages: `nextPageUrl` never ends"),
            )
            .into())
    }

    /// Sends `entity` as one journaled write; returns the `itemId`. A POST adds (sent twice, it
    /// would add twice); a PATCH sets each field it names to a value (sent twice, it leaves the
    /// same entity).
    pub(super) fn write_entity<T: Serialize>(
        &self,
        api: &Api,
        method: Method,
        path: impl Into<String>,
        entity: &T,
        log: &dyn WriteLog,
    ) -> Result<i64, PsaError> {
        let idempotent = method == Method::Patch;
        let request = Request::with_body(method, path, request_body(NAME, entity)?, idempotent);
        self.send_write(api, request, log)
    }

    /// Sends one write, journaled before it leaves; returns the `itemId` Autotask answers. A 2xx
    /// of another kind, or whose body is not `{"itemId":N}` (an HTML page, a cut answer),
    /// proves nothing: the write may or may not have been carried out.
    pub(super) fn send_write(
        &self,
        api: &Api,
        request: Request,
        log: &dyn WriteLog,
    ) -> Result<i64, PsaError> {
        let send_checked = |request: &Request| {
            let answer = api.http.send(request)?;
            check_status(&api.http, request, answer, &self.wording())
        };
        send_journaled(&api.http, &request, log, send_checked, |answer| {
            expect_status(answer, 200)?;
            let item: wire::ItemId = parse(answer.status, &answer.body, "{\"itemId\":N}")?;
            Ok(item.item_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::autotask_host;

    #[test]
    fn only_autotask_hosts_or_this_machine_get_the_credentials() {
        assert!(autotask_host(
            "https://webservices14.autotask.net/ATServicesRest"
        ));
        assert!(autotask_host(
            "https://WebServices2.AutoTask.NET:443/ATServicesRest"
        ));
        assert!(autotask_host("http://127.0.0.1:8080/ATServicesRest"));
        assert!(autotask_host("http://localhost:9/x"));
        assert!(!autotask_host("https://evil.example/ATServicesRest"));
        assert!(!autotask_host("https://autotask.net.evil.example/"));
        assert!(!autotask_host("https://evilautotask.net/"));
        assert!(!autotask_host("https://x@webservices1.autotask.net/"));
        assert!(!autotask_host(
            "https://webservices1.autotask.net@evil.example/"
        ));
    }
}
