//! Token removal records: one metadata update listing what was removed.

use super::Engine;
use super::emit::{Emit, fixed, tag};
use crate::event::{Event, FieldChange, Payload, ProtocolUpdate, UpdateType};
use crate::record::TokenRemovalRecord;

impl Engine {
    pub(super) fn observe_removal(
        &self,
        emit: &mut Emit<'_>,
        r: &TokenRemovalRecord,
        out: &mut Vec<Event>,
    ) {
        let record = emit.record;
        let mut changes: Vec<FieldChange> = r
            .fields
            .iter()
            .map(|(field, value)| FieldChange {
                field: field.clone(),
                previous_value: serde_json::Value::from(value.as_str()),
                current_value: serde_json::Value::Null,
            })
            .collect();
        if changes.is_empty() {
            changes.push(FieldChange {
                field: "token".to_string(),
                previous_value: serde_json::Value::from(r.target.as_str()),
                current_value: serde_json::Value::Null,
            });
        }
        let tags = vec![
            fixed("type:protocol"),
            tag("protocol:", &r.protocol_id),
            fixed("update:token_removal"),
        ];
        let data = ProtocolUpdate {
            protocol_id: r.protocol_id.clone(),
            protocol_name: r.protocol_id.clone(),
            update_type: UpdateType::Metadata,
            changes,
        };
        let id = emit.id(&[&record.state_key()], "token_removal");
        out.push(emit.event(id, 0.0, tags, Payload::ProtocolUpdate(data)));
    }
}
