//! The paging helper against a mock that reproduces the platform's `page × limit` offset.

use std::sync::{Arc, Mutex};

use messagepro::{PageRequest, fetch_all};
use serde_json::{Value, json};
use wiremock::matchers::path;
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::helpers::*;

/// Serves `total` contacts (id descending) with the platform's offset rule (spec §1.8).
struct QuirkyContacts {
    total: u64,
    seen_limits: Arc<Mutex<Vec<u64>>>,
}

impl Respond for QuirkyContacts {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        let num = |k: &str, d: u64| {
            q.iter()
                .find(|(key, _)| key == k)
                .map_or(d, |(_, v)| v.parse().unwrap())
        };
        let (limit, page) = (num("limit", 10), num("page", 1));
        self.seen_limits.lock().unwrap().push(limit);
        let offset = if page < 2 { 0 } else { page * limit };
        let rows: Vec<Value> = (offset..self.total.min(offset + limit))
            .map(|i| {
                let id = self.total - i;
                json!({"id": id, "groups": ["1"], "phone": format!("+2246210{id:05}"), "name": format!("C{id}")})
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": 200, "message": "Saved Contacts", "data": rows}))
    }
}

async fn mount(
    total: u64,
) -> (
    wiremock::MockServer,
    messagepro::Client,
    Arc<Mutex<Vec<u64>>>,
) {
    let (server, client) = setup().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(path("/api/get/contacts"))
        .respond_with(QuirkyContacts {
            total,
            seen_limits: seen.clone(),
        })
        .mount(&server)
        .await;
    (server, client, seen)
}

#[tokio::test]
async fn walking_pages_naively_loses_rows_which_is_why_fetch_all_exists() {
    let (_server, client, _) = mount(25).await;
    let p1 = client.get_contacts(PageRequest::new(1, 10)).await.unwrap();
    let p2 = client.get_contacts(PageRequest::new(2, 10)).await.unwrap();
    assert_eq!(
        p1.len() + p2.len(),
        15,
        "page 2 starts at row 20: rows 10-19 are never seen"
    );
}

#[tokio::test]
async fn fetch_all_returns_every_row_exactly_once() {
    // Arrange: 1234 rows, initial limit 500 → 500 (full), 1000 (full), 2000 (short).
    let (_server, client, seen) = mount(1234).await;

    // Act
    let all = client.all_contacts().await.unwrap();

    // Assert
    let mut ids: Vec<u64> = all.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 1234);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1234, "no duplicates");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&1234));
    assert_eq!(*seen.lock().unwrap(), vec![500, 1000, 2000]);
}

#[tokio::test]
async fn fetch_all_with_a_small_start_doubles_until_a_short_page() {
    let (_server, client, seen) = mount(25).await;
    let all = fetch_all(10, |p| client.get_contacts(p)).await.unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(*seen.lock().unwrap(), vec![10, 20, 40]);
}

#[tokio::test]
async fn fetch_all_of_an_exact_multiple_still_terminates() {
    let (_server, client, seen) = mount(20).await;
    let all = fetch_all(10, |p| client.get_contacts(p)).await.unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(*seen.lock().unwrap(), vec![10, 20, 40]);
}

#[tokio::test]
async fn fetch_all_of_an_empty_list_makes_one_call() {
    let (_server, client, seen) = mount(0).await;
    assert!(client.all_contacts().await.unwrap().is_empty());
    assert_eq!(seen.lock().unwrap().len(), 1);
}
