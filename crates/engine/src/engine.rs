//! [`Engine`]: the state every API call works on.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use berth_image::images::ImageStore;

use crate::config::EngineConfig;
use crate::container::{Container, ContainerRecord};
use crate::error::{EngineError, Result};
use crate::events::Events;
use crate::exec::Exec;
use crate::store::Store;

/// The engine: containers, images, execs, events.
pub struct Engine {
    /// Paths and helper binaries.
    pub config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) containers: RwLock<HashMap<String, Arc<Container>>>,
    /// name (no slash) → id.
    pub(crate) names: RwLock<HashMap<String, String>>,
    /// The event bus.
    pub events: Events,
    pub(crate) images: ImageStore,
    pub(crate) execs: Mutex<HashMap<String, Arc<Exec>>>,
    /// When the engine started (uptime, `Status` texts).
    pub started: Instant,
    /// A stable daemon id (`/info` `ID`).
    pub daemon_id: String,
    /// Networks: the predefined three, then user networks in creation order.
    pub(crate) networks: RwLock<Vec<Arc<crate::network::Network>>>,
    /// berth's nftables table (None with `--iptables=false`).
    pub(crate) firewall: Option<berth_network::nft::Firewall>,
    /// Port withdrawals running in the background.
    pub(crate) port_releases: Arc<crate::network::PortReleases>,
    /// Network namespaces made ahead of time (set up after restore).
    pub(crate) netns_pool: std::sync::OnceLock<crate::network::netns::NetnsPool>,
    /// Starts shims (one kept on standby).
    pub(crate) shims: crate::shim::Launcher,
    /// Directory trees being deleted in the background.
    pub(crate) trash: crate::trash::Trash,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_root", &self.config.data_root)
            .finish()
    }
}

impl Engine {
    /// Opens the stores under the configured roots and restores containers: live shims
    /// are re-attached, containers whose shim died are marked exited.
    pub async fn open(config: EngineConfig) -> Result<Arc<Engine>> {
        for dir in [
            config.data_root.join("containers"),
            config.volumes_dir(),
            config.exec_root.join("s"),
            config.exec_root.join("e"),
            config.runtime_root(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(dir.display(), e))?;
        }
        let store = Store::open(&config.data_root.join("state.db"))?;
        let images = ImageStore::open(&config.data_root)?;
        let id_path = config.data_root.join("engine-id");
        let daemon_id = match std::fs::read_to_string(&id_path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                let id = crate::ids::random_id();
                std::fs::write(&id_path, &id).map_err(|e| EngineError::io("engine-id", e))?;
                id
            }
        };
        let trash = crate::trash::Trash::open(&[&config.data_root, &config.exec_root])
            .map_err(|e| EngineError::io("trash dir", e))?;
        let (firewall, table) = (config.net.firewall, config.net.nft_table());
        let engine = Arc::new(Engine {
            config,
            store,
            containers: RwLock::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            events: Events::new(),
            images,
            execs: Mutex::new(HashMap::new()),
            started: Instant::now(),
            daemon_id,
            networks: RwLock::new(Vec::new()),
            firewall: firewall.then(|| berth_network::nft::Firewall::new(&table)),
            port_releases: Default::default(),
            netns_pool: Default::default(),
            shims: Default::default(),
            trash,
        });
        engine.open_networks()?;
        engine.restore().await?;
        engine.open_netns_pool()?;
        engine.sync_firewall()?;
        engine.start_dns_servers().await;
        Ok(engine)
    }

    /// Waits until every queued metadata write is committed (clean shutdown).
    pub fn flush(&self) {
        self.shims.shutdown();
        self.store.flush();
        self.trash.flush();
    }

    /// The image store.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// Every container (unordered).
    pub fn all_containers(&self) -> Vec<Arc<Container>> {
        self.containers
            .read()
            .expect("containers")
            .values()
            .cloned()
            .collect()
    }

    /// Saves a copy of `rec` to the store; the writer thread encodes it.
    pub(crate) fn persist(&self, rec: ContainerRecord) -> Result<()> {
        let id = rec.id.clone();
        self.store.put_encoded(&id, move || {
            serde_json::to_vec(&rec).map_err(|e| e.to_string())
        })
    }

    /// Saves the container's current record.
    pub(crate) fn persist_container(&self, c: &Container) -> Result<()> {
        self.persist(c.record())
    }

    /// Publishes a container event with Docker's attributes (labels, image, name).
    pub(crate) fn container_event(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        c.with(|r| {
            if let Some(labels) = &r.config.labels {
                attrs.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            attrs.insert("image".into(), r.image.clone());
            attrs.insert("name".into(), r.name.clone());
        });
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.events
            .publish("container", action, c.id.clone(), attrs);
    }
}
