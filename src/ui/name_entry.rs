//! The name field's on-screen pinyin keyboard (issue #14): owns the [`Composer`] and
//! pushes its state into `AppState` (the name, the pending pinyin, this page's candidates,
//! paging, Latin mode). A linuxkms kiosk has no system input method, so every name is
//! typed here, or filled by the ID-card reader through [`NameEntry::set`] and corrected here.

use super::bridge::Inner;
use super::generated::{AppState, NameAction};
use crate::pinyin::{Composer, Dict, Key};
use crate::session::Event;
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};
use std::cell::RefCell;
use std::rc::Rc;

pub(super) struct NameEntry {
    composer: RefCell<Composer>,
}

impl NameEntry {
    /// Builds the dictionary's index now (once per process), not at the first key.
    pub fn new() -> NameEntry {
        NameEntry {
            composer: RefCell::new(Composer::new(Dict::shared())),
        }
    }

    /// Pinyin letters still wait for their character.
    pub fn has_pending(&self) -> bool {
        !self.composer.borrow().pending().is_empty()
    }

    /// Puts a name in (the card reader's), correctable key by key.
    pub fn set(&self, g: &AppState<'_>, name: &str) {
        self.composer.borrow_mut().set(name);
        self.show(g);
    }

    /// Empties the name and the pending letters (personal data: the details screen left).
    pub fn reset(&self, g: &AppState<'_>) {
        self.composer.borrow_mut().reset();
        self.show(g);
    }

    fn press(&self, g: &AppState<'_>, key: Key) {
        self.composer.borrow_mut().press(key);
        g.set_name_pick_first(false);
        self.show(g);
    }

    fn show(&self, g: &AppState<'_>) {
        let c = self.composer.borrow();
        g.set_name(c.name().into());
        g.set_name_pending(c.pending().into());
        let page: Vec<SharedString> = c.page_candidates().iter().map(|ch| ch.to_string().into()).collect();
        g.set_name_candidates(ModelRc::new(VecModel::from(page)));
        g.set_name_has_prev(c.has_prev());
        g.set_name_has_next(c.has_next());
        g.set_name_latin(c.latin());
    }
}

/// 下一步 with pinyin letters not yet turned into a character: says so (请先点选候选的汉字)
/// and returns true, so the details are not submitted with half a name.
pub(super) fn must_pick_first(inner: &Inner) -> bool {
    let pending = inner.name.has_pending();
    inner.window.global::<AppState>().set_name_pick_first(pending);
    pending
}

/// Binds the keyboard's callbacks. Typing is activity: it keeps the session from timing out.
pub(super) fn bind(inner: &Rc<Inner>) {
    let g = inner.window.global::<AppState>();
    let key = |w: std::rc::Weak<Inner>| {
        move |k: Key| {
            let Some(i) = w.upgrade() else { return };
            i.name.press(&i.window.global::<AppState>(), k);
            i.kiosk.send(Event::StillHere);
        }
    };
    let press = key(Rc::downgrade(inner));
    g.on_name_letter(move |s| {
        if let Some(c) = s.chars().next() {
            press(Key::Letter(c));
        }
    });
    let press = key(Rc::downgrade(inner));
    g.on_name_pick(move |i| press(Key::Pick(usize::try_from(i).unwrap_or(usize::MAX))));
    let press = key(Rc::downgrade(inner));
    g.on_name_action(move |a| {
        press(match a {
            NameAction::Backspace => Key::Backspace,
            NameAction::Dot => Key::Dot,
            NameAction::Space => Key::Space,
            NameAction::ToggleLatin => Key::ToggleLatin,
            NameAction::Clear => Key::Clear,
            NameAction::NextPage => Key::NextPage,
            NameAction::PrevPage => Key::PrevPage,
        })
    });
}
