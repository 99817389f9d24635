//! Slot holds in Redis: while a dispatcher or the customer confirms, a slot is held for one
//! work order with a TTL (policy `appointments.hold_ttl_secs`). A hold is advice, never the
//! truth: the booking is a Postgres row unique per (technician, window), so losing Redis (or a
//! hold) can never double-book. When Redis does not answer, holds are skipped and bookings go on.
//!
//! A hold is `hold:<technician>:<window start, unix seconds>` → `<hold id>|<work order>|<expires,
//! unix ms>`, and `hold-of:<work order>` → the slot key (one hold per work order). Expiry is
//! read against the service's clock (the value carries it), so a test moves time instead of
//! waiting; Redis's own TTL, the same length, only clears the keys away.

use std::time::Duration;

use aftersales_platform::kv::{KvError, Redis};
use chrono::{DateTime, Utc};

/// A slot held for a work order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub hold_id: String,
    pub work_order_no: String,
    pub expires_at: DateTime<Utc>,
}

impl Hold {
    fn parse(v: &str) -> Option<Hold> {
        let mut parts = v.splitn(3, '|');
        let (id, wo, exp) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Hold {
            hold_id: id.to_owned(),
            work_order_no: wo.to_owned(),
            expires_at: DateTime::from_timestamp_millis(exp.parse().ok()?)?,
        })
    }
}

/// What holding a slot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// Held for the asking work order (new, or refreshed with the same id).
    Ours(Hold),
    /// Held for another work order until its expiry.
    Theirs(Hold),
}

const HOLD: &str = r"
local v = redis.call('GET', KEYS[1])
local id = ARGV[1]
if v then
  local hid, wo, exp = string.match(v, '^([^|]*)|([^|]*)|(%d+)$')
  if exp and tonumber(exp) > tonumber(ARGV[3]) then
    if wo ~= ARGV[2] then return v end
    id = hid
  end
end
local nv = id .. '|' .. ARGV[2] .. '|' .. ARGV[4]
redis.call('SET', KEYS[1], nv, 'PX', ARGV[5])
local old = redis.call('GET', KEYS[2])
if old and old ~= KEYS[1] then
  local ov = redis.call('GET', old)
  if ov then
    local _, owo = string.match(ov, '^([^|]*)|([^|]*)|')
    if owo == ARGV[2] then redis.call('DEL', old) end
  end
end
redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[5])
return nv
";

const RELEASE: &str = r"
local slot = redis.call('GET', KEYS[1])
if not slot then return 0 end
local v = redis.call('GET', slot)
if v then
  local _, wo = string.match(v, '^([^|]*)|([^|]*)|')
  if wo == ARGV[1] then redis.call('DEL', slot) end
end
redis.call('DEL', KEYS[1])
return 1
";

#[derive(Clone)]
pub struct Holds {
    redis: Redis,
    ttl: Duration,
}

impl Holds {
    pub fn new(redis: Redis, ttl: Duration) -> Self {
        Self { redis, ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn slot_key(&self, technician_id: &str, from: DateTime<Utc>) -> String {
        self.redis
            .key(&format!("hold:{technician_id}:{}", from.timestamp()))
    }

    fn pointer_key(&self, work_order_no: &str) -> String {
        self.redis.key(&format!("hold-of:{work_order_no}"))
    }

    /// Holds the slot for `work_order_no` until `now + ttl`, unless another work order holds
    /// it still.
    pub async fn hold(
        &self,
        technician_id: &str,
        from: DateTime<Utc>,
        work_order_no: &str,
        now: DateTime<Utc>,
    ) -> Result<Held, KvError> {
        let expires = now + chrono::Duration::from_std(self.ttl).unwrap_or_default();
        let script = redis::Script::new(HOLD);
        let mut inv = script.key(self.slot_key(technician_id, from));
        inv.key(self.pointer_key(work_order_no))
            .arg(format!("H-{}", uuid::Uuid::now_v7().simple()))
            .arg(work_order_no)
            .arg(now.timestamp_millis())
            .arg(expires.timestamp_millis())
            .arg(self.ttl.as_millis().max(1) as u64);
        let v: String = self.redis.script(&inv).await?;
        let hold = Hold::parse(&v).ok_or_else(|| {
            KvError::Redis(redis::RedisError::from((
                redis::ErrorKind::Parse,
                "unexpected hold value",
                v.clone(),
            )))
        })?;
        Ok(if hold.work_order_no == work_order_no {
            Held::Ours(hold)
        } else {
            Held::Theirs(hold)
        })
    }

    /// The unexpired hold on a slot, if any.
    pub async fn holder(
        &self,
        technician_id: &str,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Hold>, KvError> {
        let v: Option<String> = self
            .redis
            .query(redis::cmd("GET").arg(self.slot_key(technician_id, from)))
            .await?;
        Ok(v.as_deref()
            .and_then(Hold::parse)
            .filter(|h| h.expires_at > now))
    }

    /// The unexpired holds on many slots at once (suggestions leave them out).
    pub async fn holders(
        &self,
        slots: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Hold>>, KvError> {
        if slots.is_empty() {
            return Ok(vec![]);
        }
        let mut cmd = redis::cmd("MGET");
        for (t, from) in slots {
            cmd.arg(self.slot_key(t, *from));
        }
        let values: Vec<Option<String>> = self.redis.query(&cmd).await?;
        Ok(values
            .into_iter()
            .map(|v| {
                v.as_deref()
                    .and_then(Hold::parse)
                    .filter(|h| h.expires_at > now)
            })
            .collect())
    }

    /// Drops the work order's hold (booked, or cancelled).
    pub async fn release(&self, work_order_no: &str) -> Result<(), KvError> {
        let script = redis::Script::new(RELEASE);
        let mut inv = script.key(self.pointer_key(work_order_no));
        inv.arg(work_order_no);
        let _: i64 = self.redis.script(&inv).await?;
        Ok(())
    }

    /// Best effort: a hold that is not dropped expires on its own, and blocks nobody's booking
    /// of its work order's slot (the booking is the truth).
    pub async fn release_quietly(&self, work_order_no: &str) {
        if let Err(e) = self.release(work_order_no).await {
            tracing::warn!(%work_order_no, error = %e, "could not drop the slot hold; it expires on its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_value_reads_back() {
        let h = Hold::parse("H-1|WO-2611-SH01-000001|1764000000000").unwrap();
        assert_eq!(h.hold_id, "H-1");
        assert_eq!(h.work_order_no, "WO-2611-SH01-000001");
        assert_eq!(h.expires_at.timestamp(), 1_764_000_000);
        assert!(Hold::parse("garbage").is_none());
    }
}
