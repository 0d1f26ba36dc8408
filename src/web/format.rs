//! How times read on our pages.

use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

const DATE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");

/// "25 Nov 2026, 14:52 UTC".
pub fn date_time(moment: OffsetDateTime) -> String {
    moment
        .to_offset(time::UtcOffset::UTC)
        .format(DATE_TIME)
        .unwrap_or_else(|_| moment.to_string())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_read_in_utc() {
        assert_eq!(
            date_time(datetime!(2026-11-05 09:07 +01:00)),
            "5 Nov 2026, 08:07 UTC"
        );
    }
}
