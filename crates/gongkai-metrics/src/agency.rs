//! Who a report is of, across the years (`archive.md` §5 "Agency identity"): the canonical
//! agency key and the region read from an agency's printed name.
//!
//! A body prints its name differently across years (`洪泽区人民政府`, then
//! `淮安市洪泽区人民政府`). The key is the name normalised (NFKC, no whitespace) and split into
//! the administrative names that lead it and the body: `淮安市/洪泽区/人民政府`. Names that
//! still differ (a level left out) are joined by an admin's alias, which the archive applies;
//! the printed name is never changed.

use unicode_normalization::UnicodeNormalization;

/// The endings of administrative division names, longest first where one ends another.
const DIVISION_SUFFIXES: &[&str] = &[
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "街道",
    "地区",
    "省",
    "市",
    "州",
    "盟",
    "县",
    "区",
    "旗",
    "镇",
    "乡",
];

/// Words that end like a division but name a body's field (`淮安市城市管理局`).
const NOT_DIVISIONS: &[&str] = &[
    "城市", "都市", "市区", "城区", "社区", "园区", "小区", "街区", "辖区", "政区", "地区",
];

/// The longest division name read (in characters), suffix included.
const MAX_DIVISION_CHARS: usize = 12;

/// The name as compared: NFKC (CJK radicals and full-width forms to the ordinary characters)
/// with every whitespace removed.
pub fn normalise(name: &str) -> String {
    name.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// The administrative names that lead `name` (normalised first), in order:
/// `淮安市洪泽区人民政府` → `["淮安市", "洪泽区"]`; and the rest, the body's own name.
pub fn split_divisions(name: &str) -> (Vec<String>, String) {
    let name = normalise(name);
    let chars: Vec<char> = name.chars().collect();
    let mut divisions = Vec::new();
    let mut start = 0;
    'divisions: while start < chars.len() {
        // The first division suffix after at least one character of name.
        for end in start + 1..chars.len().min(start + MAX_DIVISION_CHARS) {
            let rest: String = chars[end..].iter().collect();
            let Some(suffix) = DIVISION_SUFFIXES.iter().find(|s| rest.starts_with(**s)) else {
                continue;
            };
            let mut stop = end + suffix.chars().count();
            // `苏州市`: 州 ends a name only when 市 (or 区, 县) does not follow.
            while let Some(next) = chars.get(stop)
                && matches!(next, '市' | '区' | '县')
                && stop + 1 - start <= MAX_DIVISION_CHARS
            {
                stop += 1;
            }
            let division: String = chars[start..stop].iter().collect();
            if NOT_DIVISIONS.contains(&division.as_str()) || stop >= chars.len() {
                break 'divisions;
            }
            divisions.push(division);
            start = stop;
            continue 'divisions;
        }
        break;
    }
    let body: String = chars[start..].iter().collect();
    (divisions, body)
}

/// The region an agency's name gives: its leading administrative names joined by `/`
/// (`淮安市洪泽区人民政府` → `淮安市/洪泽区`); empty when the name starts with none.
pub fn region_of(name: &str) -> String {
    split_divisions(name).0.join("/")
}

/// The canonical key of a printed agency name: region path and body name, normalised,
/// joined by `/` (`淮安市洪泽区人民政府` → `淮安市/洪泽区/人民政府`).
pub fn agency_key(name: &str) -> String {
    let (mut parts, body) = split_divisions(name);
    if !body.is_empty() {
        parts.push(body);
    }
    parts.join("/")
}

/// A region as given with a submission, normalised: NFKC, no whitespace, `/`-separated parts
/// without empty ones (`江苏省 / 淮安市/` → `江苏省/淮安市`).
pub fn normalise_region(region: &str) -> String {
    normalise(region)
        .split('/')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_from_the_leading_administrative_names() {
        for (name, region, key) in [
            (
                "淮安市洪泽区人民政府",
                "淮安市/洪泽区",
                "淮安市/洪泽区/人民政府",
            ),
            ("洪泽区人民政府", "洪泽区", "洪泽区/人民政府"),
            ("淮安市人民政府", "淮安市", "淮安市/人民政府"),
            (
                "洛阳市瀍河区人民政府",
                "洛阳市/瀍河区",
                "洛阳市/瀍河区/人民政府",
            ),
            ("上海市人民政府办公厅", "上海市", "上海市/人民政府办公厅"),
            (
                "苏州市吴中区人民政府",
                "苏州市/吴中区",
                "苏州市/吴中区/人民政府",
            ),
            (
                "广西壮族自治区人民政府",
                "广西壮族自治区",
                "广西壮族自治区/人民政府",
            ),
            (
                "江苏省淮安市洪泽区高良涧街道办事处",
                "江苏省/淮安市/洪泽区/高良涧街道",
                "江苏省/淮安市/洪泽区/高良涧街道/办事处",
            ),
            ("淮安市城市管理局", "淮安市", "淮安市/城市管理局"),
            ("平潭综合实验区", "", "平潭综合实验区"),
            ("国家税务总局", "", "国家税务总局"),
            (
                " 淮安市 洪泽区人民政府 ",
                "淮安市/洪泽区",
                "淮安市/洪泽区/人民政府",
            ),
        ] {
            assert_eq!(region_of(name), region, "{name}");
            assert_eq!(agency_key(name), key, "{name}");
        }
    }

    #[test]
    fn radicals_and_full_width_forms_normalise() {
        // ⼈ U+2F08 is the radical form of 人.
        assert_eq!(agency_key("淮安市\u{2F08}民政府"), "淮安市/人民政府");
        assert_eq!(normalise_region(" 江苏省 / 淮安市/ "), "江苏省/淮安市");
    }
}
