//! The detector's DynamoDB tables on the emulator (PK string, SK number, streams on, and the
//! time-bucket index when asked), and plain-JSON items written to them.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, StreamSpecification,
    StreamViewType, WriteRequest,
};
use pulse_adapters::dynamodb::{TIME_BUCKET_ATTRIBUTE, TIME_BUCKET_SECS};
use serde_json::Value;
use std::collections::HashMap;

pub const EVENTS_TABLE: &str = "events";
pub const COINS_TABLE: &str = "coins";
pub const BUCKET_INDEX: &str = "byTimeBucket";

/// Creates a table; with `bucket_index`, with the time-bucket GSI.
pub async fn create_table(client: &Client, name: &str, bucket_index: bool) {
    let attr = |n: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("PK", ScalarAttributeType::S))
        .attribute_definitions(attr("SK", ScalarAttributeType::N))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        );
    if bucket_index {
        req = req
            .attribute_definitions(attr(TIME_BUCKET_ATTRIBUTE, ScalarAttributeType::N))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(BUCKET_INDEX)
                    .key_schema(key(TIME_BUCKET_ATTRIBUTE, KeyType::Hash))
                    .key_schema(key("SK", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    req.send().await.unwrap();
}

/// A JSON value as a DynamoDB attribute: numbers as N, strings as S, objects as M.
pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(o) => {
            AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect())
        }
    }
}

/// Writes plain-JSON items with BatchWriteItem (25 a call, unprocessed items again); with
/// `bucketed`, each gets the time-bucket attribute of its SK.
pub async fn put_items(client: &Client, table: &str, items: &[Value], bucketed: bool) {
    for chunk in items.chunks(25) {
        let mut requests = Vec::new();
        for item in chunk {
            let mut map: HashMap<String, AttributeValue> = item
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), to_attr(v)))
                .collect();
            if bucketed {
                let sk = item["SK"].as_i64().unwrap();
                map.insert(
                    TIME_BUCKET_ATTRIBUTE.into(),
                    AttributeValue::N((sk / TIME_BUCKET_SECS).to_string()),
                );
            }
            requests.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(map)).build().unwrap())
                    .build(),
            );
        }
        let mut pending = Some(HashMap::from([(table.to_string(), requests)]));
        while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
            let out = client
                .batch_write_item()
                .set_request_items(Some(batch))
                .send()
                .await
                .unwrap();
            pending = out.unprocessed_items.filter(|u| !u.is_empty());
        }
    }
}
