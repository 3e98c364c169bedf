//! Building the adapter for each PSA a plan sends customers to, from `tally.toml` and the
//! credentials. The one place that knows every adapter; the CLI asks here.

use crate::autotask::Autotask;
use crate::config::{Config, Credentials};
use crate::connectwise::ConnectWise;
use crate::error::PsaError;
use crate::halopsa::Halo;
use crate::http::Observer;
use crate::push::Psa;
use std::collections::BTreeMap;
use tally_ir::PsaKind;

/// The adapters of one push, by PSA kind name (`connectwise`), with each one's product mapping.
#[derive(Default)]
pub struct Adapters {
    built: BTreeMap<&'static str, Box<dyn Psa>>,
    products: BTreeMap<&'static str, BTreeMap<String, String>>,
}

impl Adapters {
    /// Builds one adapter per kind in `kinds` (each once). A kind without its `tally.toml`
    /// section, or whose credentials are missing, is a configuration error naming them.
    pub fn build(
        kinds: &[PsaKind],
        config: &Config,
        config_name: &str,
        credentials: &Credentials,
        observer: Option<Observer>,
    ) -> Result<Adapters, PsaError> {
        let mut adapters = Adapters::default();
        for &kind in kinds {
            if adapters.built.contains_key(kind.name()) {
                continue;
            }
            let missing = || {
                PsaError::Config(format!(
                    "the plan sends customers to {}, but `{config_name}` has no [{}] section",
                    kind.name(),
                    kind.name()
                ))
            };
            let (adapter, products): (Box<dyn Psa>, _) = match kind {
                PsaKind::ConnectWise => {
                    let section = config.connectwise.clone().ok_or_else(missing)?;
                    let products = section.products.clone();
                    let adapter =
                        ConnectWise::from_credentials(section, credentials, observer.clone())?;
                    (Box::new(adapter), products)
                }
                PsaKind::Autotask => {
                    let section = config.autotask.clone().ok_or_else(missing)?;
                    let products = section.products.clone();
                    let adapter =
                        Autotask::from_credentials(section, credentials, observer.clone())?;
                    (Box::new(adapter), products)
                }
                PsaKind::HaloPsa => {
                    let section = config.halopsa.clone().ok_or_else(missing)?;
                    let products = section.products.clone();
                    let adapter = Halo::from_credentials(section, credentials, observer.clone())?;
                    (Box::new(adapter), products)
                }
            };
            adapters.built.insert(kind.name(), adapter);
            adapters.products.insert(kind.name(), products);
        }
        Ok(adapters)
    }

    /// The adapters as [`crate::push`] takes them.
    pub fn by_kind(&self) -> BTreeMap<&'static str, &dyn Psa> {
        self.built.iter().map(|(k, v)| (*k, v.as_ref())).collect()
    }

    /// Each kind's product mapping (plan product → the PSA's catalogue name).
    pub fn products(&self) -> &BTreeMap<&'static str, BTreeMap<String, String>> {
        &self.products
    }
}
