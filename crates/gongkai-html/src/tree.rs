//! The document tree the reader walks: only what it looks at (element kinds, whether an
//! element is hidden, a cell's spans, text), in a flat arena. It is built either by
//! [`crate::fast`] straight from the markup or, for pages that scanner does not model, from
//! html5ever's DOM ([`Tree::from_scraper`]); the reader cannot tell which.

use std::borrow::Cow;

macro_rules! tags {
    ($($variant:ident $name:literal),* $(,)?) => {
        /// An HTML element name; names that matter to no rule of the tree builder or the reader
        /// are [`Tag::Other`], numbered by [`Tree::intern`] so that end tags still match.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Tag {
            $($variant,)*
            Other(u32),
        }

        impl Tag {
            /// The tag for a lower-case name, or `None` for a name that is not listed.
            pub(crate) fn known(name: &[u8]) -> Option<Tag> {
                match name {
                    $($name => Some(Tag::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

tags! {
    Html b"html", Head b"head", Body b"body", Title b"title", Meta b"meta", Link b"link",
    Base b"base", Basefont b"basefont", Bgsound b"bgsound", Style b"style", Script b"script",
    Noscript b"noscript", Noframes b"noframes", Template b"template", Frameset b"frameset",
    Frame b"frame", Iframe b"iframe", Noembed b"noembed", Xmp b"xmp", Plaintext b"plaintext",
    Textarea b"textarea", Select b"select", Option b"option", Optgroup b"optgroup",
    Button b"button", Form b"form", Input b"input", Keygen b"keygen", Img b"img",
    Image b"image", Area b"area", Br b"br", Embed b"embed", Wbr b"wbr", Param b"param",
    Source b"source", Track b"track", Hr b"hr", P b"p", Div b"div", Address b"address",
    Article b"article", Aside b"aside", Blockquote b"blockquote", Center b"center",
    Details b"details", Dialog b"dialog", Dir b"dir", Dl b"dl", Fieldset b"fieldset",
    Figcaption b"figcaption", Figure b"figure", Footer b"footer", Header b"header",
    Hgroup b"hgroup", Main b"main", Nav b"nav", Ol b"ol", Search b"search",
    Section b"section", Summary b"summary", Ul b"ul", Menu b"menu", H1 b"h1", H2 b"h2",
    H3 b"h3", H4 b"h4", H5 b"h5", H6 b"h6", Pre b"pre", Listing b"listing", Li b"li",
    Dd b"dd", Dt b"dt", A b"a", B b"b", Big b"big", Code b"code", Em b"em", Font b"font",
    I b"i", S b"s", Small b"small", Strike b"strike", Strong b"strong", Tt b"tt", U b"u",
    Nobr b"nobr", Applet b"applet", Marquee b"marquee", Object b"object", Table b"table",
    Caption b"caption", Colgroup b"colgroup", Col b"col", Tbody b"tbody", Thead b"thead",
    Tfoot b"tfoot", Tr b"tr", Td b"td", Th b"th", Math b"math", Svg b"svg", Rb b"rb",
    Rtc b"rtc", Rp b"rp", Rt b"rt", Legend b"legend", Isindex b"isindex",
    Menuitem b"menuitem",
}

impl Tag {
    /// Elements whose content the reader ignores.
    pub(crate) fn is_skipped(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Head | Script
                | Style
                | Noscript
                | Template
                | Iframe
                | Object
                | Svg
                | Math
                | Select
                | Button
        )
    }

    /// Elements that end the paragraph before them and start a new one.
    pub(crate) fn is_block(self) -> bool {
        use Tag::*;
        matches!(
            self,
            P | Div
                | H1
                | H2
                | H3
                | H4
                | H5
                | H6
                | Li
                | Ul
                | Ol
                | Dl
                | Dt
                | Dd
                | Section
                | Article
                | Header
                | Footer
                | Main
                | Nav
                | Aside
                | Blockquote
                | Pre
                | Center
                | Form
                | Hr
                | Address
                | Figure
                | Figcaption
                | Caption
                | Tr
                | Td
                | Th
                | Body
                | Html
                | Fieldset
                | Legend
        )
    }
}

/// What the reader needs of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elem {
    pub tag: Tag,
    /// `hidden`, or a style with `display:none` / `visibility:hidden`.
    pub hidden: bool,
    pub colspan: Option<usize>,
    pub rowspan: Option<usize>,
}

impl Elem {
    pub(crate) fn plain(tag: Tag) -> Elem {
        Elem {
            tag,
            hidden: false,
            colspan: None,
            rowspan: None,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Data<'a> {
    Document,
    Element(Elem),
    Text(Cow<'a, str>),
}

pub(crate) type NodeId = u32;
pub(crate) const NONE: NodeId = u32::MAX;

#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub data: Data<'a>,
    pub parent: NodeId,
    pub first_child: NodeId,
    pub last_child: NodeId,
    pub next_sibling: NodeId,
}

/// Nodes in an arena; node 0 is the document.
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    pub nodes: Vec<Node<'a>>,
}

impl<'a> Tree<'a> {
    pub(crate) fn new(capacity: usize) -> Tree<'a> {
        let mut nodes = Vec::with_capacity(capacity);
        nodes.push(Node {
            data: Data::Document,
            parent: NONE,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        Tree { nodes }
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id as usize]
    }

    pub(crate) fn elem(&self, id: NodeId) -> Option<&Elem> {
        match &self.nodes[id as usize].data {
            Data::Element(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn tag(&self, id: NodeId) -> Option<Tag> {
        self.elem(id).map(|e| e.tag)
    }

    /// Appends a new node as the last child of `parent`.
    pub(crate) fn append(&mut self, parent: NodeId, data: Data<'a>) -> NodeId {
        let id = NodeId::try_from(self.nodes.len()).unwrap_or(NONE);
        let prev = self.nodes[parent as usize].last_child;
        self.nodes.push(Node {
            data,
            parent,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
        });
        if prev == NONE {
            self.nodes[parent as usize].first_child = id;
        } else {
            self.nodes[prev as usize].next_sibling = id;
        }
        self.nodes[parent as usize].last_child = id;
        id
    }

    /// Appends text to `parent`, joined to its last child if that is text (as the DOM does).
    pub(crate) fn append_text(&mut self, parent: NodeId, text: Cow<'a, str>) {
        let last = self.nodes[parent as usize].last_child;
        if last != NONE
            && let Data::Text(existing) = &mut self.nodes[last as usize].data
        {
            existing.to_mut().push_str(&text);
            return;
        }
        self.append(parent, Data::Text(text));
    }

    /// Inserts a new node just before `sibling` (which has a parent), text joined to text
    /// before it; returns the node that holds the data.
    pub(crate) fn insert_before(&mut self, sibling: NodeId, data: Data<'a>) -> NodeId {
        let parent = self.node(sibling).parent;
        let mut prev = NONE;
        let mut at = self.node(parent).first_child;
        while at != sibling && at != NONE {
            prev = at;
            at = self.node(at).next_sibling;
        }
        if let Data::Text(text) = &data
            && prev != NONE
            && let Data::Text(existing) = &mut self.nodes[prev as usize].data
        {
            existing.to_mut().push_str(text);
            return prev;
        }
        let id = NodeId::try_from(self.nodes.len()).unwrap_or(NONE);
        self.nodes.push(Node {
            data,
            parent,
            first_child: NONE,
            last_child: NONE,
            next_sibling: sibling,
        });
        if prev == NONE {
            self.nodes[parent as usize].first_child = id;
        } else {
            self.nodes[prev as usize].next_sibling = id;
        }
        id
    }

    /// Children of `id` in order.
    pub(crate) fn children(&self, id: NodeId) -> Children<'_, 'a> {
        Children {
            tree: self,
            next: self.node(id).first_child,
        }
    }

    /// `id` and its descendants in document order.
    pub(crate) fn descendants(&self, id: NodeId) -> Descendants<'_, 'a> {
        Descendants {
            tree: self,
            root: id,
            next: id,
        }
    }

    /// The node after `id` in document order within `root`, not entering `id`'s children.
    pub(crate) fn next_skipping_children(&self, root: NodeId, mut id: NodeId) -> NodeId {
        while id != root {
            let n = self.node(id);
            if n.next_sibling != NONE {
                return n.next_sibling;
            }
            id = n.parent;
        }
        NONE
    }

    /// Converts html5ever's DOM, for pages [`crate::fast`] does not model.
    pub(crate) fn from_scraper(html: &'a scraper::Html) -> Tree<'a> {
        use scraper::node::Node as S;
        let mut tree = Tree::new(1024);
        // (scraper node, our parent) pairs still to convert, last child first.
        let mut stack = Vec::new();
        let root = html.tree.root();
        let push_children = |stack: &mut Vec<_>, node: ego_tree::NodeRef<'a, S>, parent| {
            let mut child = node.last_child();
            while let Some(c) = child {
                stack.push((c, parent));
                child = c.prev_sibling();
            }
        };
        push_children(&mut stack, root, 0);
        while let Some((node, parent)) = stack.pop() {
            match node.value() {
                S::Text(t) => tree.append_text(parent, Cow::Borrowed(&t[..])),
                S::Element(e) => {
                    let name = e.name();
                    let span = |attr: &str| e.attr(attr).and_then(parse_span);
                    let elem = Elem {
                        tag: Tag::known(name.as_bytes()).unwrap_or(Tag::Other(0)),
                        hidden: e.attr("hidden").is_some() || e.attr("style").is_some_and(hides),
                        colspan: span("colspan"),
                        rowspan: span("rowspan"),
                    };
                    let id = tree.append(parent, Data::Element(elem));
                    push_children(&mut stack, node, id);
                }
                S::Document | S::Fragment => push_children(&mut stack, node, parent),
                _ => {}
            }
        }
        tree
    }
}

/// A `rowspan`/`colspan` value as the reader reads it (`"2"`, `" 2 "`, `"2;"`).
pub(crate) fn parse_span(value: &str) -> Option<usize> {
    value.trim().trim_end_matches(';').parse::<usize>().ok()
}

/// Whether a `style` attribute hides its element: it says `display:none` or
/// `visibility:hidden`, white space anywhere and letter case aside, and holds `none` or
/// `hidden` unbroken (as the reader has always read styles; Word puts one on every span).
pub(crate) fn hides(style: &str) -> bool {
    let bytes = style.as_bytes();
    let space = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let declares = |colon: usize| {
        let (before, after) = (&style[..colon], &style[colon + 1..]);
        (ends_with_word(before, "display") && starts_with_word(after, "none"))
            || (ends_with_word(before, "visibility") && starts_with_word(after, "hidden"))
    };
    // Both property names end in `y` followed by a colon, perhaps after white space: only
    // those colons are looked at (Word's styles have a dozen colons, few after a `y`).
    let mut hit = false;
    for y in memchr::memchr2_iter(b'y', b'Y', bytes) {
        // `…ay` or `…ty` (perhaps with white space before the `y`): `family` is not looked at.
        if y > 0 && bytes[y - 1].is_ascii_alphabetic() && !b"aAtT".contains(&bytes[y - 1]) {
            continue;
        }
        match bytes[y + 1..].iter().position(|b| !space(b)) {
            Some(p) if bytes[y + 1 + p] == b':' => hit = declares(y + 1 + p),
            // Non-ASCII white space may stand between: every colon is looked at.
            Some(p) if !bytes[y + 1 + p].is_ascii() => {
                hit = memchr::memchr_iter(b':', bytes).any(declares);
            }
            _ => {}
        }
        if hit {
            break;
        }
    }
    hit && {
        let lower = style.to_ascii_lowercase();
        lower.contains("none") || lower.contains("hidden")
    }
}

/// Whether `text` without its white space starts with `word` (ASCII, lower case), any case.
fn starts_with_word(text: &str, word: &str) -> bool {
    let mut chars = text.chars().filter(|c| !c.is_whitespace());
    word.chars()
        .all(|w| chars.next().is_some_and(|c| c.to_ascii_lowercase() == w))
}

/// Whether `text` without its white space ends with `word` (ASCII, lower case), any case.
fn ends_with_word(text: &str, word: &str) -> bool {
    let mut chars = text.chars().rev().filter(|c| !c.is_whitespace());
    word.chars()
        .rev()
        .all(|w| chars.next().is_some_and(|c| c.to_ascii_lowercase() == w))
}

pub(crate) struct Children<'t, 'a> {
    tree: &'t Tree<'a>,
    next: NodeId,
}

impl Iterator for Children<'_, '_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        self.next = self.tree.node(id).next_sibling;
        Some(id)
    }
}

pub(crate) struct Descendants<'t, 'a> {
    tree: &'t Tree<'a>,
    root: NodeId,
    next: NodeId,
}

impl Iterator for Descendants<'_, '_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        let first = self.tree.node(id).first_child;
        self.next = if first != NONE {
            first
        } else {
            self.tree.next_skipping_children(self.root, id)
        };
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::hides;

    /// The reading of `style` the reader has always had.
    fn hides_as_before(style: &str) -> bool {
        let lower = style.to_ascii_lowercase();
        if !lower.contains("none") && !lower.contains("hidden") {
            return false;
        }
        let s: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
        s.contains("display:none") || s.contains("visibility:hidden")
    }

    #[test]
    fn hides_reads_styles_as_before() {
        for style in [
            "display:none",
            "DISPLAY : NONE",
            "color:red; display:\u{3000}none !important",
            "dis play:no ne",
            "display:no ne;border:none",
            "visibility:hidden",
            "visibility: hid den",
            "visi bility:hidden;x:hidden",
            "border-top:none;border-left:none;font-family:宋体",
            "display:nonesuch",
            "display:block;none",
            "xdisplay:none",
            "display::none",
            ":none",
            "display:",
            "",
            "display\u{a0}:\u{a0}none",
            "mso-hide:all;display:none",
            "display\u{b}:none",
            "font-family:宋体;mso-bidi-font-family:\"Times\";display :none",
            "y:",
            "family:none",
            "visibility\u{A0}:\u{A0}hidden",
            "displa y:none",
            "visibilit\u{3000}y:hidden",
            "xy:none;display:none",
            "DISPLAY\u{3000}:none;width:1pt",
        ] {
            assert_eq!(hides(style), hides_as_before(style), "{style:?}");
        }
    }
}
