//! The frames of an execution record, by id: a map from [`FrameId`] to [`Frame`] that keeps the
//! root (id `""`) apart from the rest.
//!
//! Why not a plain `BTreeMap<String, Frame>`: the root is looked up several times at every
//! transition, and looking `""` up in a map compares zero-length strings, which `memcmp` does
//! in 40–80 ns on AVX-512 machines (a masked load with an empty mask), against 3 ns for a
//! short non-empty key: that was a fifth of a Pass/Choice loop's time. Kept apart, the root is
//! a field read, and the map holds only non-empty ids. The serialised form is the map's own,
//! `{"": root, "0.1": …}`, in the same order, so stored records read back unchanged.
//!
//! The other frames are shared (`Arc`) and copied on write: every step clones the record to
//! decide on, and diffs the two afterwards; with a Map's thousand running children, cloning
//! and comparing every frame was a tenth of a distributed Map's time, though a step changes
//! only a few of them. A frame not written to stays the same allocation, which
//! [`Frames::same`] tells without comparing contents.

use std::collections::BTreeMap;
use std::ops::Index;
use std::sync::Arc;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::{Frame, FrameId};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frames {
    root: Option<Frame>,
    /// Every frame but the root; never holds the empty id.
    others: BTreeMap<FrameId, Arc<Frame>>,
}

impl Frames {
    pub fn new() -> Frames {
        Frames::default()
    }

    pub fn get(&self, id: &str) -> Option<&Frame> {
        if id.is_empty() {
            self.root.as_ref()
        } else {
            self.others.get(id).map(|f| &**f)
        }
    }

    /// Whether the frame `id` of `self` is the frame `id` of `other` without a write in
    /// between (the same allocation), or equal to it.
    pub fn same(&self, other: &Frames, id: &str) -> bool {
        if id.is_empty() {
            return self.root.is_some() && self.root == other.root;
        }
        match (self.others.get(id), other.others.get(id)) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Frame> {
        if id.is_empty() {
            self.root.as_mut()
        } else {
            self.others.get_mut(id).map(Arc::make_mut)
        }
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn insert(&mut self, id: FrameId, frame: Frame) -> Option<Frame> {
        if id.is_empty() {
            self.root.replace(frame)
        } else {
            self.others
                .insert(id, Arc::new(frame))
                .map(Arc::unwrap_or_clone)
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Frame> {
        if id.is_empty() {
            self.root.take()
        } else {
            self.others.remove(id).map(Arc::unwrap_or_clone)
        }
    }

    pub fn clear(&mut self) {
        self.root = None;
        self.others.clear();
    }

    pub fn len(&self) -> usize {
        usize::from(self.root.is_some()) + self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.others.is_empty()
    }

    /// In id order: the root first, then parents before their children.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Frame)> {
        self.root
            .iter()
            .map(|f| ("", f))
            .chain(self.others.iter().map(|(id, f)| (id.as_str(), &**f)))
    }

    /// The ids that start with `prefix` (a fan-out's children), in order.
    pub fn ids_with_prefix(&self, prefix: &str) -> Vec<FrameId> {
        let mut ids = Vec::new();
        if prefix.is_empty() && self.root.is_some() {
            ids.push(FrameId::new());
        }
        ids.extend(
            self.others
                .range::<str, _>((
                    std::ops::Bound::Included(prefix),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(id, _)| id.starts_with(prefix))
                .map(|(id, _)| id.clone()),
        );
        ids
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(id, _)| id)
    }

    pub fn values(&self) -> impl Iterator<Item = &Frame> {
        self.root.iter().chain(self.others.values().map(|f| &**f))
    }
}

impl Index<&str> for Frames {
    type Output = Frame;

    fn index(&self, id: &str) -> &Frame {
        self.get(id)
            .unwrap_or_else(|| panic!("no frame with the id {id:?}"))
    }
}

impl<'a> IntoIterator for &'a Frames {
    type Item = (&'a str, &'a Frame);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Frame)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(FrameId, Frame)> for Frames {
    fn from_iter<T: IntoIterator<Item = (FrameId, Frame)>>(iter: T) -> Frames {
        let mut frames = Frames::new();
        for (id, f) in iter {
            frames.insert(id, f);
        }
        frames
    }
}

impl Serialize for Frames {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (id, f) in self.iter() {
            map.serialize_entry(id, f)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Frames {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Frames, D::Error> {
        struct FramesVisitor;
        impl<'de> Visitor<'de> for FramesVisitor {
            type Value = Frames;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of frames by id")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Frames, A::Error> {
                let mut frames = Frames::new();
                while let Some((id, frame)) = map.next_entry::<FrameId, Frame>()? {
                    frames.insert(id, frame);
                }
                Ok(frames)
            }
        }
        d.deserialize_map(FramesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Phase;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn frame(state: &str) -> Frame {
        Frame {
            scope: Vec::new(),
            parent: None,
            index: 0,
            map_item: None,
            state: state.into(),
            input: json!({"at": state}),
            entered_event_id: 1,
            entered_time: Utc.timestamp_opt(0, 0).unwrap(),
            last_event_id: 1,
            seq: 1,
            phase: Phase::Run,
            retry_counts: Vec::new(),
            vars: serde_json::Map::new(),
            silent: false,
            own_history: None,
        }
    }

    /// Records stored before `Frames` existed were a `BTreeMap<String, Frame>`: both write the
    /// same text and read each other's.
    #[test]
    fn the_stored_form_is_the_maps_own() {
        let ids = ["0.1", "", "0.0/1.2", "0.0", "10.3"];
        let map: BTreeMap<FrameId, Frame> =
            ids.iter().map(|id| (id.to_string(), frame(id))).collect();
        let frames: Frames = ids.iter().map(|id| (id.to_string(), frame(id))).collect();
        let text = serde_json::to_string(&map).unwrap();
        assert_eq!(serde_json::to_string(&frames).unwrap(), text);
        let back: Frames = serde_json::from_str(&text).unwrap();
        assert_eq!(back, frames);
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            ["", "0.0", "0.0/1.2", "0.1", "10.3"]
        );
        assert_eq!(back.len(), 5);
    }

    /// A step's clone shares every frame with the record it came from; a write gives the
    /// written frame its own copy, and only that frame reads as changed.
    #[test]
    fn a_clone_shares_its_frames_until_one_is_written() {
        let mut before = Frames::new();
        before.insert(String::new(), frame("root"));
        before.insert("0.0".into(), frame("a"));
        before.insert("0.1".into(), frame("b"));
        let mut after = before.clone();
        assert!(["", "0.0", "0.1"].iter().all(|id| after.same(&before, id)));
        after.get_mut("0.1").unwrap().seq += 1;
        assert!(after.same(&before, "0.0") && !after.same(&before, "0.1"));
        assert_eq!(
            before["0.1"].seq, 1,
            "the record the step started from is untouched"
        );
        assert_eq!(after["0.1"].seq, 2);
        // Equal contents in different allocations are the same frame too.
        after.insert("0.1".into(), frame("b"));
        assert!(after.same(&before, "0.1"));
        after.remove("0.0");
        assert!(!after.same(&before, "0.0") && !before.same(&after, "0.0"));
    }

    #[test]
    fn the_root_is_a_frame_like_the_others() {
        let mut frames = Frames::new();
        assert!(frames.is_empty() && frames.get("").is_none());
        assert!(frames.insert(String::new(), frame("root")).is_none());
        frames.insert("0.0".into(), frame("child"));
        frames.insert("0.1".into(), frame("child"));
        frames.insert("1.0".into(), frame("other"));
        assert_eq!(frames[""].state, "root");
        assert!(frames.contains_key("") && frames.contains_key("0.1"));
        frames.get_mut("").unwrap().state = "renamed".into();
        assert_eq!(frames.values().next().unwrap().state, "renamed");
        assert_eq!(frames.ids_with_prefix("0."), ["0.0", "0.1"]);
        assert_eq!(frames.ids_with_prefix("").len(), 4);
        assert_eq!(frames.remove("").unwrap().state, "renamed");
        assert_eq!(frames.len(), 3);
        assert_eq!((&frames).into_iter().count(), 3);
        frames.clear();
        assert!(frames.is_empty());
    }
}
