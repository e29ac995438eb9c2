//! `docker rmi` and `docker image prune` on the image store: Docker's untag-then-delete
//! rules and conflicts (moby `daemon/images/image_delete.go`), then garbage collection of
//! the layers and blobs no remaining image uses.
//!
//! Runs in berthd with the store mutex held for the whole operation, so a concurrent
//! `add` cannot start using a layer that is being removed. Layer and blob removal keeps
//! going after a failure and reports the first error. Removing a layer a pull has unpacked
//! but not yet recorded is the caller's race to avoid (pulls add their record promptly).

use std::collections::{BTreeMap, HashSet};

use super::lookup::{is_id_prefix, is_single_reference, ref_key};
use super::{parse_ref, short_id, ContainerUse, Deleted, ImageError, ImageStore, State};
use crate::digest::Digest;
use crate::reference::Reference;

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Untagged and deleted items, in order.
    pub deleted: Vec<Deleted>,
    /// Sum of the sizes of the deleted images.
    pub space_reclaimed: u64,
}

/// Who uses an image: the caller's view of its containers.
type Uses<'a> = &'a dyn Fn(&Digest) -> Option<ContainerUse>;

impl ImageStore {
    /// `docker rmi [-f] <name_or_id>`. By name: untags, and deletes the image once no
    /// reference is left. By id: deletes the image, untagging it first; an image with
    /// several tags needs `force`. `uses` reports a container using an image: a running
    /// one blocks deletion even with `force`, a stopped one without it. Returns Docker's
    /// `[{"Untagged": …}, {"Deleted": …}]` list; deleted layers follow the image, top first.
    pub fn remove(
        &self,
        name_or_id: &str,
        force: bool,
        uses: Uses<'_>,
    ) -> Result<Vec<Deleted>, ImageError> {
        let mut state = self.lock();
        self.remove_locked(&mut state, name_or_id, force, uses)
    }

    /// `docker image prune [-a]`: removes images no container uses that are dangling
    /// (no tag; with `dangling_only`) or, without it, all such images.
    pub fn prune(&self, dangling_only: bool, uses: Uses<'_>) -> Result<PruneReport, ImageError> {
        let mut state = self.lock();
        let mut report = PruneReport::default();
        let ids: Vec<Digest> = state.records.keys().cloned().collect();
        for id in ids {
            if uses(&id).is_some() {
                continue;
            }
            let size = state.records[&id].size;
            let refs = state.refs_of(&id);
            let names: Vec<String> = if refs.is_empty() {
                vec![id.to_string()]
            } else if !dangling_only || refs.iter().all(|r| r.digest().is_some()) {
                refs.iter().map(ToString::to_string).collect()
            } else {
                continue;
            };
            for name in names {
                // Docker skips an image whose removal conflicts and goes on with the rest.
                match self.remove_locked(&mut state, &name, false, uses) {
                    Ok(items) => report.deleted.extend(items),
                    Err(
                        e @ (ImageError::Layer { .. }
                        | ImageError::Blob { .. }
                        | ImageError::Io { .. }
                        | ImageError::Encode { .. }),
                    ) => return Err(e),
                    Err(_) => break,
                }
            }
            if !state.records.contains_key(&id) {
                report.space_reclaimed += size;
            }
        }
        Ok(report)
    }

    fn remove_locked(
        &self,
        state: &mut State,
        name_or_id: &str,
        force: bool,
        uses: Uses<'_>,
    ) -> Result<Vec<Deleted>, ImageError> {
        let id = state.resolve(name_or_id)?;
        let short = short_id(id.hex());
        let mut refs = state.refs.clone();
        let mut out = Vec::new();
        let by_name = !is_id_prefix(&id, name_or_id);
        if by_name {
            let r = parse_ref(name_or_id)?;
            if !force && is_single_reference(&state.refs_of(&id)) {
                if let Some(c) = uses(&id) {
                    return Err(ImageError::ReferenceInUse {
                        reference: name_or_id.to_owned(),
                        container: short_id(&c.id),
                        short_id: short,
                    });
                }
            }
            if refs.remove(&ref_key(&r)).is_none() {
                return Err(ImageError::NotFound {
                    reference: r.familiar(),
                });
            }
            out.push(Deleted::Untagged(r.familiar()));
            let remaining = refs_to(&refs, &id);
            let tag_left = remaining
                .iter()
                .any(|x| x.digest().is_none() && x.name() == r.name());
            if r.digest().is_none() && !tag_left {
                for x in remaining.iter().filter(|x| x.digest().is_some()) {
                    if x.name() == r.name() {
                        refs.remove(&ref_key(x));
                        out.push(Deleted::Untagged(x.familiar()));
                    }
                }
            }
            if !refs_to(&refs, &id).is_empty() {
                self.write_refs(&refs)?;
                state.refs = refs;
                return Ok(out);
            }
        } else if is_single_reference(&refs_to(&refs, &id)) {
            check_conflicts(&id, force, true, &refs, uses)?;
            for x in refs_to(&refs, &id) {
                refs.remove(&ref_key(&x));
                out.push(Deleted::Untagged(x.familiar()));
            }
        }
        if let Err(conflict) = check_conflicts(&id, force, false, &refs, uses) {
            // Docker: after untagging by name, a conflict leaves the image dangling
            // instead of failing the untag.
            if by_name {
                self.write_refs(&refs)?;
                state.refs = refs;
                return Ok(out);
            }
            return Err(conflict);
        }
        for x in refs_to(&refs, &id) {
            refs.remove(&ref_key(&x));
            out.push(Deleted::Untagged(x.familiar()));
        }
        self.write_refs(&refs)?;
        state.refs = refs;
        self.delete_record_file(&id)?;
        let Some(rec) = state.records.remove(&id) else {
            return Ok(out);
        };
        out.push(Deleted::Deleted(id.to_string()));
        let removed = self.collect_garbage(state, &rec.chain_ids, &rec.blobs())?;
        out.extend(removed.into_iter().map(|c| Deleted::Deleted(c.to_string())));
        Ok(out)
    }

    /// Removes the layers (top first) and blobs no record in `state` uses; returns the
    /// removed chain ids. Keeps going after a failure and returns the first error.
    fn collect_garbage(
        &self,
        state: &State,
        chain_ids: &[Digest],
        blobs: &[Digest],
    ) -> Result<Vec<Digest>, ImageError> {
        let used_chains: HashSet<&Digest> = state
            .records
            .values()
            .flat_map(|r| r.chain_ids.iter())
            .collect();
        let used_blobs: HashSet<Digest> = state.records.values().flat_map(|r| r.blobs()).collect();
        let mut first_err = None;
        let mut removed = Vec::new();
        for chain_id in chain_ids.iter().rev() {
            let key = chain_id.to_string();
            if used_chains.contains(chain_id) || !self.layers.exists(&key) {
                continue;
            }
            match self.layers.remove(&key) {
                Ok(()) => removed.push(chain_id.clone()),
                Err(source) => {
                    first_err.get_or_insert(ImageError::Layer {
                        step: "remove",
                        chain_id: key,
                        source,
                    });
                }
            }
        }
        for blob in blobs.iter().filter(|b| !used_blobs.contains(*b)) {
            if let Err(source) = self.blobs.delete(blob) {
                first_err.get_or_insert(ImageError::Blob {
                    step: format!("delete {blob}"),
                    source,
                });
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }
}

fn refs_to(refs: &BTreeMap<String, Digest>, id: &Digest) -> Vec<Reference> {
    refs.iter()
        .filter(|(_, v)| *v == id)
        .filter_map(|(k, _)| Reference::parse(k).ok())
        .collect()
}

/// moby's `checkImageDeleteConflict`. `pre_untag` is the by-id check before untagging
/// (references are not a conflict there); otherwise remaining references are a soft one.
fn check_conflicts(
    id: &Digest,
    force: bool,
    pre_untag: bool,
    refs: &BTreeMap<String, Digest>,
    uses: Uses<'_>,
) -> Result<(), ImageError> {
    let short = short_id(id.hex());
    let user = uses(id);
    if let Some(c) = user.as_ref().filter(|c| c.running) {
        return Err(ImageError::UsedByRunningContainer {
            short_id: short,
            container: short_id(&c.id),
        });
    }
    if force {
        return Ok(());
    }
    if !pre_untag && !refs_to(refs, id).is_empty() {
        return Err(ImageError::ReferencedInMultipleRepositories { short_id: short });
    }
    if let Some(c) = user {
        return Err(ImageError::UsedByStoppedContainer {
            short_id: short,
            container: short_id(&c.id),
        });
    }
    Ok(())
}
