//! The campaign's calendar: local days, local times of day and quiet hours in the
//! campaign time zone. Limits, streaks and caps count local calendar days; `at` sends
//! and birthdays fire at local times, DST applied the way the compiler applies it.

use crate::literal::{DateTimeLit, Duration};
use crate::QuietHours;
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// A local wall-clock time in `tz` as UTC. In a DST gap the time moves forward by the
/// gap (it is read with the offset in force before the gap, as RFC 5545 does: 02:30 in
/// a 02:00–03:00 gap is 03:30); in an overlap the earlier instant is taken.
pub fn local_to_utc(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(d) => d.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // A day before is always before the gap (gaps are at most a day long).
            let day_before = t.checked_sub_signed(TimeDelta::days(1)).unwrap_or(t);
            let offset = tz.offset_from_utc_datetime(&day_before).fix();
            let utc = t
                .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
                .unwrap_or(t);
            Utc.from_utc_datetime(&utc)
        }
    }
}

/// `start` plus a duration: calendar days in `tz`, then elapsed minutes.
pub fn add_duration(tz: Tz, start: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    let local = start.with_timezone(&tz).naive_local();
    let moved = local
        .checked_add_days(Days::new(u64::from(d.days)))
        .unwrap_or(local);
    let base = if d.days == 0 {
        start
    } else {
        local_to_utc(tz, moved)
    };
    base + TimeDelta::minutes(i64::from(d.minutes))
}

/// `start` plus a duration, as [`add_duration`] computes it; `None` when the result
/// lies beyond the last instant that can be represented (so a checker never crashes on
/// a campaign that runs for millennia).
pub fn checked_add_duration(tz: Tz, start: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
    let base = if d.days == 0 {
        start
    } else {
        let local = start.with_timezone(&tz).naive_local();
        local_to_utc(tz, local.checked_add_days(Days::new(u64::from(d.days)))?)
    };
    base.checked_add_signed(TimeDelta::minutes(i64::from(d.minutes)))
}

/// A time zone with the campaign's calendar rules.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    tz: Tz,
}

/// A local calendar day, as days since 1970-01-01: consecutive days differ by one.
pub type Day = i32;

impl Calendar {
    /// The calendar of `tz`.
    pub fn new(tz: Tz) -> Self {
        Calendar { tz }
    }

    /// The local date of an instant.
    pub fn date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// The local day of an instant: its seconds since the epoch at the zone's offset
    /// then, in whole days (every limit check asks, so no local date is built).
    pub fn day(&self, t: DateTime<Utc>) -> Day {
        let offset = self.tz.offset_from_utc_datetime(&t.naive_utc()).fix();
        let local = t.timestamp() + i64::from(offset.local_minus_utc());
        i32::try_from(local.div_euclid(86_400)).unwrap_or(i32::MAX)
    }

    /// A local date and time of day as an instant (a time in a DST gap moves forward by
    /// the gap; in an overlap the earlier instant is taken).
    pub fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        local_to_utc(self.tz, date.and_time(time))
    }

    /// A date and time as written: with an offset it is that instant; without one it is
    /// local to this calendar's zone, read as `.camp` files read it ([`local_to_utc`]).
    pub fn resolve(&self, at: DateTimeLit) -> DateTime<Utc> {
        match at {
            DateTimeLit::Fixed(t) => t.with_timezone(&Utc),
            DateTimeLit::Local(t) => local_to_utc(self.tz, t),
        }
    }

    /// `t` plus a duration: calendar days, then elapsed minutes.
    pub fn add(&self, t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        add_duration(self.tz, t, d)
    }

    /// Every instant in `[start, end)` that is `time` local, in order.
    pub fn daily(
        &self,
        time: NaiveTime,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut date = self.date(start);
        while let Some(at) = Some(self.instant(date, time)).filter(|at| *at < end) {
            if at >= start {
                out.push(at);
            }
            match date.checked_add_days(Days::new(1)) {
                Some(next) => date = next,
                None => break,
            }
        }
        out
    }

    /// Whether local time at `t` is inside the quiet hours (`[start, end)`, wrapping
    /// midnight when start is after end; an empty window when they are equal).
    pub fn is_quiet(&self, quiet: &QuietHours, t: DateTime<Utc>) -> bool {
        quiet.contains(t.with_timezone(&self.tz).time())
    }

    /// The first instant after `t` whose local time is the end of the quiet hours.
    pub fn quiet_end(&self, quiet: &QuietHours, t: DateTime<Utc>) -> DateTime<Utc> {
        let date = self.date(t);
        let today = self.instant(date, quiet.end);
        if today > t {
            return today;
        }
        date.checked_add_days(Days::new(1))
            .map_or(today, |d| self.instant(d, quiet.end))
    }

    /// Whether a birthday falls on the local `date` (29 February falls on the 28th in
    /// other years).
    pub fn is_birthday(birthday: NaiveDate, date: NaiveDate) -> bool {
        if birthday.month() == 2 && birthday.day() == 29 && date.leap_year().then_some(()).is_none()
        {
            return date.month() == 2 && date.day() == 28;
        }
        birthday.month() == date.month() && birthday.day() == date.day()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cal() -> Calendar {
        Calendar::new("Asia/Shanghai".parse().unwrap())
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_days_change_at_local_midnight() {
        let c = cal();
        let before = c.day(utc("2027-01-26T15:59:59Z"));
        let after = c.day(utc("2027-01-26T16:00:00Z"));
        assert_eq!(after, before + 1);
    }

    proptest::proptest! {
        /// A local day is the local date's distance from 1970-01-01, in zones with and
        /// without daylight saving, before and after the epoch.
        #[test]
        fn local_days_are_local_dates(secs in -4_000_000_000i64..4_000_000_000, zone in 0usize..4) {
            let tz: Tz = ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "UTC"]
                .get(zone).and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
            let c = Calendar::new(tz);
            let t = DateTime::from_timestamp(secs, 0).unwrap_or_default();
            let unix = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            let want = c.date(t).signed_duration_since(unix).num_days();
            proptest::prop_assert_eq!(i64::from(c.day(t)), want);
        }
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_end_at_their_end() {
        let c = cal();
        let q = QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        assert!(c.is_quiet(&q, utc("2027-01-26T14:30:00Z"))); // 22:30 local
        assert!(c.is_quiet(&q, utc("2027-01-26T23:59:00Z"))); // 07:59 local
        assert!(!c.is_quiet(&q, utc("2027-01-27T00:00:00Z"))); // 08:00 local
        assert_eq!(
            c.quiet_end(&q, utc("2027-01-26T14:30:00Z")),
            utc("2027-01-27T00:00:00Z")
        );
        assert_eq!(
            c.quiet_end(&q, utc("2027-01-26T22:00:00Z")),
            utc("2027-01-27T00:00:00Z")
        );
    }

    #[test]
    fn adding_past_the_last_instant_is_none_not_a_crash() {
        let tz: Tz = "Pacific/Kiritimati".parse().unwrap();
        let near_end = DateTime::<Utc>::MAX_UTC - TimeDelta::days(10);
        for d in [
            Duration {
                days: 36_600,
                minutes: 0,
            },
            Duration {
                days: 0,
                minutes: u32::MAX,
            },
            Duration {
                days: 11,
                minutes: 0,
            },
        ] {
            assert_eq!(checked_add_duration(tz, near_end, d), None, "{d:?}");
        }
        let d = Duration {
            days: 1,
            minutes: 90,
        };
        let start = utc("2027-01-20T13:00:00Z");
        assert_eq!(
            checked_add_duration(tz, start, d),
            Some(add_duration(tz, start, d))
        );
    }

    #[test]
    fn daily_times_fall_inside_the_window() {
        let c = cal();
        let t = NaiveTime::from_hms_opt(20, 0, 0).unwrap();
        let times = c.daily(t, utc("2027-01-20T13:00:00Z"), utc("2027-01-23T00:00:00Z"));
        assert_eq!(
            times,
            vec![
                Utc.with_ymd_and_hms(2027, 1, 21, 12, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 1, 22, 12, 0, 0).unwrap(),
            ]
        );
    }

    #[test]
    fn leap_day_birthdays() {
        let bd = NaiveDate::from_ymd_opt(2000, 2, 29).unwrap();
        assert!(Calendar::is_birthday(
            bd,
            NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()
        ));
        assert!(Calendar::is_birthday(
            bd,
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap()
        ));
        assert!(!Calendar::is_birthday(
            bd,
            NaiveDate::from_ymd_opt(2028, 2, 28).unwrap()
        ));
    }
}
