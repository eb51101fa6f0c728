//! Assertions on text: what a test most often checks of an error message or
//! a report, with the whole text shown when it fails.

/// Fails unless `text` contains `needle`, printing both.
#[track_caller]
pub fn assert_contains(text: impl AsRef<str>, needle: impl AsRef<str>) {
    let (text, needle) = (text.as_ref(), needle.as_ref());
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_on_a_contained_needle() {
        assert_contains("PC2 is DN", "DN");
    }

    #[test]
    #[should_panic(expected = "expected \"UN\" in:\nPC2 is DN")]
    fn fails_with_the_whole_text() {
        assert_contains("PC2 is DN", "UN");
    }
}
