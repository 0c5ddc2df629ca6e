//! Writing the few CBOR items the server's own messages need (RFC 8949
//! §3.1). Reading is in `limits`; a CBOR library would add code and its own
//! limits to audit for a handful of maps of strings.

/// A map header for `len` entries (major type 5).
pub fn map(len: usize, out: &mut Vec<u8>) {
    head(5, len as u64, out);
}

/// An array header for `len` items (major type 4).
pub fn array(len: usize, out: &mut Vec<u8>) {
    head(4, len as u64, out);
}

/// A text string (major type 3).
pub fn text(s: &str, out: &mut Vec<u8>) {
    head(3, s.len() as u64, out);
    out.extend(s.as_bytes());
}

/// `true` or `false` (major type 7).
pub fn bool(b: bool, out: &mut Vec<u8>) {
    out.push(if b { 0xf5 } else { 0xf4 });
}

/// An item's initial byte(s): `major` type with argument `n`, shortest form.
pub fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend([major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

/// A map of string keys to string values, as the protocol's envelopes are.
pub fn string_map(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    map(entries.len(), &mut out);
    for (key, value) in entries {
        text(key, &mut out);
        text(value, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::limits::decode;

    #[test]
    fn long_strings_encode_with_their_length() {
        for len in [0, 23, 24, 255, 256, 70_000] {
            let s = "x".repeat(len);
            let msg = string_map(&[("type", &s)]);
            assert_eq!(decode(&msg).unwrap().kind, s);
        }
    }

    #[test]
    fn heads_use_the_shortest_form() {
        let mut out = Vec::new();
        array(3, &mut out);
        array(24, &mut out);
        array(300, &mut out);
        map(70_000, &mut out);
        bool(true, &mut out);
        assert_eq!(
            out,
            [0x83, 0x98, 24, 0x99, 1, 44, 0xba, 0, 1, 0x11, 0x70, 0xf5]
        );
    }
}
