//! Redis for the services that use it (the gateway's rate limits, idempotency records and event
//! buffer; short-lived holds): one multiplexed, self-reconnecting connection per process, every
//! key under a prefix (unique per test, so tests never see each other's keys). Losing Redis must
//! lose no business data: callers degrade on [`KvError`] instead of failing.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisError};
use secrecy::ExposeSecret;

use crate::config::RedisSettings;

/// How long one blocking read of the events buffer waits for news.
pub const READ_BLOCK: Duration = Duration::from_secs(2);

/// A cheap-to-clone handle: one multiplexed, self-reconnecting connection and the key prefix.
#[derive(Clone)]
pub struct Redis {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    client: redis::Client,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Why a Redis operation gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

impl Redis {
    /// Connects lazily: the gateway starts and serves while Redis is still down.
    pub fn new(settings: &RedisSettings) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.url.expose_secret())?;
        let timeout = Duration::from_millis(settings.command_timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = client.get_connection_manager_lazy(config)?;
        Ok(Self {
            conn,
            prefix: settings.key_prefix.clone(),
            timeout,
            client,
        })
    }

    /// `prefix + name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Runs one command with the command timeout.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, KvError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, cmd.query_async(&mut conn))
            .await
            .map_err(|_| KvError::Timeout(self.timeout))?
            .map_err(KvError::from)
    }

    /// Runs a Lua script with the command timeout.
    pub async fn script<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, KvError> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| KvError::Timeout(self.timeout))?
            .map_err(KvError::from)
    }

    /// A connection of its own, for blocking reads (`XREAD BLOCK`) that must not stall the
    /// shared multiplexed connection.
    pub async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection, KvError> {
        // The reads block for seconds on purpose: the response timeout must be longer than
        // the block (the caller bounds each read itself).
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(READ_BLOCK * 3));
        tokio::time::timeout(
            self.timeout * 5,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| KvError::Timeout(self.timeout * 5))?
        .map_err(KvError::from)
    }

    pub async fn ping(&self) -> bool {
        self.query::<String>(&redis::cmd("PING")).await.is_ok()
    }
}
