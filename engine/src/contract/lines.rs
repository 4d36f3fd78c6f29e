//! Lines as YAML counts them: a line ends at LF, CR LF, or a lone CR (YAML 1.2, 5.4).
//!
//! Every line number Charter reports must agree with the parser's, which follows YAML;
//! counting only LF would put findings on the wrong line of a file with old Mac endings.

/// The lines of `bytes` (without their line breaks).
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let text = rest?;
        match memchr::memchr2(b'\n', b'\r', text) {
            Some(end) => {
                let skip = if text[end] == b'\r' && text.get(end + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = Some(&text[end + skip..]);
                Some(&text[..end])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// The 1-based line holding byte `offset`.
pub(crate) fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let mut breaks = lines(before).count() - 1;
    // A CR just before `offset` that starts a CR LF is not a break of its own.
    if before.last() == Some(&b'\r') && bytes.get(offset) == Some(&b'\n') {
        breaks -= 1;
    }
    u32::try_from(breaks + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_yaml_line_break_counts_once() {
        let text = b"a\nb\r\nc\rd";
        let all: Vec<&[u8]> = lines(text).collect();
        assert_eq!(all, [&b"a"[..], b"b", b"c", b"d"]);
        assert_eq!(lines(b"").count(), 1);
        assert_eq!(lines(b"a\n").count(), 2);
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 2), 2);
        assert_eq!(line_at(text, 5), 3);
        assert_eq!(line_at(text, 7), 4);
        assert_eq!(line_at(text, 100), 4);
        assert_eq!(line_at(text, 4), 2, "the LF of a CR LF");
    }
}
