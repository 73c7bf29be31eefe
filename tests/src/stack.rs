//! [`Stack`]: the servers and resources one test needs, started for it alone and gone when it
//! drops. The detector's full set is [`Stack::start`]; a test that needs less asks for less:
//!
//! ```ignore
//! let stack = Stack::builder().redis().queues().start().await;
//! ```

use crate::aws::sdk_config;
use crate::queues::{ALERTS, Queues};
use crate::servers::{MotoServer, RedisServer};
use crate::tables::{COINS_TABLE, EVENTS_TABLE, create_table, put_items};
use aws_config::SdkConfig;
use serde_json::Value;

/// Redis, the emulator with its SDK config, the alerts queue with its dead-letter queue, and
/// the detector's tables, as asked for.
pub struct Stack {
    redis: Option<RedisServer>,
    moto: Option<MotoServer>,
    aws: Option<SdkConfig>,
    queues: Option<Queues>,
}

/// What a [`Stack`] starts. Tables and queues start the emulator.
#[derive(Debug, Default, Clone, Copy)]
#[must_use]
pub struct StackBuilder {
    redis: bool,
    moto: bool,
    /// `Some(with the time-bucket index)`.
    tables: Option<bool>,
    queues: bool,
}

impl StackBuilder {
    /// A `redis-server`.
    pub fn redis(mut self) -> Self {
        self.redis = true;
        self
    }
    /// The emulator and its SDK config.
    pub fn moto(mut self) -> Self {
        self.moto = true;
        self
    }
    /// The events and coins tables (streams on).
    pub fn tables(mut self) -> Self {
        self.moto = true;
        self.tables = Some(self.tables.unwrap_or(false));
        self
    }
    /// The tables with the time-bucket index.
    pub fn tables_with_bucket_index(mut self) -> Self {
        self.moto = true;
        self.tables = Some(true);
        self
    }
    /// The alerts queue and its dead-letter queue ([`Queues::create`]).
    pub fn queues(mut self) -> Self {
        self.moto = true;
        self.queues = true;
        self
    }

    pub async fn start(self) -> Stack {
        let redis = self.redis.then(RedisServer::start);
        let moto = self.moto.then(MotoServer::start);
        let aws = moto.as_ref().map(|m| sdk_config(&m.endpoint()));
        if let (Some(aws), Some(bucket_index)) = (&aws, self.tables) {
            let client = aws_sdk_dynamodb::Client::new(aws);
            create_table(&client, EVENTS_TABLE, bucket_index).await;
            create_table(&client, COINS_TABLE, bucket_index).await;
        }
        let queues = match (&aws, self.queues) {
            (Some(aws), true) => Some(Queues::create(&aws_sdk_sqs::Client::new(aws), ALERTS).await),
            _ => None,
        };
        Stack {
            redis,
            moto,
            aws,
            queues,
        }
    }
}

impl Stack {
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// Everything the detector uses: Redis, the emulator, the tables and the queues.
    pub async fn start() -> Stack {
        Stack::builder().redis().tables().queues().start().await
    }

    pub fn redis(&self) -> &RedisServer {
        self.redis
            .as_ref()
            .expect("this Stack has no Redis: start it with Stack::builder().redis()")
    }

    /// For [`RedisServer::stop`] and [`RedisServer::restart`].
    pub fn redis_mut(&mut self) -> &mut RedisServer {
        self.redis
            .as_mut()
            .expect("this Stack has no Redis: start it with Stack::builder().redis()")
    }

    pub fn moto(&self) -> &MotoServer {
        self.moto
            .as_ref()
            .expect("this Stack has no emulator: start it with Stack::builder().moto()")
    }

    /// The SDK config of clients pointed at the emulator.
    pub fn aws(&self) -> &SdkConfig {
        self.aws
            .as_ref()
            .expect("this Stack has no emulator: start it with Stack::builder().moto()")
    }

    pub fn queues(&self) -> &Queues {
        self.queues
            .as_ref()
            .expect("this Stack has no queues: start it with Stack::builder().queues()")
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(self.aws())
    }

    /// Writes plain-JSON items (numbers as N, strings as S, objects as M) to a table.
    pub async fn put(&self, table: &str, items: &[Value]) {
        put_items(&self.dynamodb(), table, items, false).await;
    }

    /// The same, with the time-bucket attribute (as `pulse local load` writes them).
    pub async fn put_bucketed(&self, table: &str, items: &[Value]) {
        put_items(&self.dynamodb(), table, items, true).await;
    }

    /// Every message on the alerts queue, deleting them.
    pub async fn drain_alerts(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let q = self.queues();
        q.drain(&q.url).await
    }

    pub async fn redis_client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis().url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// The detector's watermark in Redis.
    pub async fn watermark(&self) -> Option<i64> {
        let mut c = self.redis_client().await;
        redis::cmd("GET")
            .arg(pulse_core::keys::WATERMARK)
            .query_async::<Option<i64>>(&mut c)
            .await
            .unwrap()
    }

    /// Event ids appended to a replay stream.
    pub async fn stream_ids(&self, stream: &str) -> Vec<String> {
        let mut c = self.redis_client().await;
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query_async(&mut c)
            .await
            .unwrap();
        entries
            .into_iter()
            .filter_map(|(_, fields)| {
                fields
                    .into_iter()
                    .find(|(k, _)| k == "eventId")
                    .map(|(_, v)| v)
            })
            .collect()
    }
}
