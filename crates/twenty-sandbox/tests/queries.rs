//! Filters (every comparator), sort orders, cursor paging in both
//! directions and depth, against the v1.0.3 document.
mod support;

use std::collections::HashSet;

use serde_json::{Value, json};
use support::*;

/// Names of the companies a filter selects, sorted.
async fn names(env: &Env, filter: &str) -> Vec<String> {
    let reply = env
        .get(&format!("/companies?limit=60&filter={}", enc(filter)))
        .await;
    assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
    let mut out: Vec<String> = reply.body["data"]["companies"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    assert_eq!(reply.body["totalCount"], out.len(), "{filter}");
    out
}

async fn companies(env: &Env) {
    let rows = json!([
        {"name": "Alpha", "employees": 10, "idealCustomerProfile": true, "address": {"addressCity": "Paris"}, "linkedinLink": {"primaryLinkLabel": "Robots"}, "annualRecurringRevenue": {"amountMicros": 5000000, "currencyCode": "EUR"}},
        {"name": "Beta", "employees": 20, "idealCustomerProfile": false, "address": {"addressCity": "Berlin"}, "linkedinLink": {"primaryLinkLabel": "robots, too"}, "annualRecurringRevenue": {"amountMicros": "7000000", "currencyCode": "USD"}},
        {"name": "Gamma", "employees": 30, "idealCustomerProfile": false, "address": {"addressCity": "Paris"}, "linkedinLink": {"primaryLinkLabel": "Cars"}},
        {"name": "Delta", "idealCustomerProfile": true, "address": {"addressCity": "Austin"}, "linkedinLink": {"primaryLinkLabel": ""}}
    ]);
    let reply = env.post("/batch/companies", rows).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn every_comparator() {
    let env = Env::start(catalog(V1)).await;
    companies(&env).await;
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    assert_eq!(names(&env, "name[eq]:\"Beta\"").await, s(&["Beta"]));
    assert_eq!(
        names(&env, "name[neq]:\"Beta\"").await,
        s(&["Alpha", "Delta", "Gamma"])
    );
    assert_eq!(
        names(&env, "name[in]:[\"Beta\",\"Gamma\"]").await,
        s(&["Beta", "Gamma"])
    );
    assert_eq!(names(&env, "employees[is]:NULL").await, s(&["Delta"]));
    assert_eq!(
        names(&env, "employees[is]:NOT_NULL").await,
        s(&["Alpha", "Beta", "Gamma"])
    );
    assert_eq!(names(&env, "employees[gt]:10").await, s(&["Beta", "Gamma"]));
    assert_eq!(
        names(&env, "employees[gte]:20").await,
        s(&["Beta", "Gamma"])
    );
    assert_eq!(names(&env, "employees[lt]:20").await, s(&["Alpha"]));
    assert_eq!(
        names(&env, "employees[lte]:20").await,
        s(&["Alpha", "Beta"])
    );
    assert_eq!(names(&env, "name[startsWith]:\"Ga\"").await, s(&["Gamma"]));
    assert_eq!(
        names(&env, "linkedinLink.primaryLinkLabel[like]:\"%obots%\"").await,
        s(&["Alpha", "Beta"])
    );
    assert_eq!(
        names(&env, "linkedinLink.primaryLinkLabel[like]:\"Robots\"").await,
        s(&["Alpha"]),
        "like is case-sensitive"
    );
    assert_eq!(
        names(&env, "linkedinLink.primaryLinkLabel[ilike]:\"robots%\"").await,
        s(&["Alpha", "Beta"])
    );
    assert_eq!(
        names(&env, "idealCustomerProfile[eq]:true").await,
        s(&["Alpha", "Delta"])
    );
    assert_eq!(
        names(&env, "address.addressCity[eq]:\"Paris\"").await,
        s(&["Alpha", "Gamma"])
    );
    assert_eq!(
        names(&env, "annualRecurringRevenue.amountMicros[gte]:6000000").await,
        s(&["Beta"])
    );
    assert_eq!(
        names(&env, "linkedinLink.primaryLinkLabel[eq]:\"\"").await,
        s(&["Delta"])
    );
    assert_eq!(
        names(&env, "or(name[eq]:\"Alpha\",employees[eq]:30)").await,
        s(&["Alpha", "Gamma"])
    );
    assert_eq!(
        names(
            &env,
            "and(address.addressCity[eq]:\"Paris\",not(name[eq]:\"Alpha\"))"
        )
        .await,
        s(&["Gamma"])
    );
    assert_eq!(
        names(&env, "address.addressCity[eq]:\"Paris\",employees[gt]:15").await,
        s(&["Gamma"])
    );

    // Dates compare as timestamps, whatever form the value is written in.
    assert_eq!(names(&env, "createdAt[gte]:\"2000-01-01\"").await.len(), 4);
    assert_eq!(
        names(&env, "createdAt[lt]:\"2000-01-01T00:00:00+02:00\"")
            .await
            .len(),
        0
    );

    // Enums and containsAny on a multi-select-like list field.
    let opp = env
        .create(
            "opportunities",
            "createOpportunity",
            json!({"name": "Deal", "stage": "MEETING"}),
        )
        .await;
    let reply = env
        .get(&format!(
            "/opportunities?filter={}",
            enc("stage[in]:[MEETING,PROPOSAL]")
        ))
        .await;
    assert_eq!(reply.body["data"]["opportunities"][0]["id"], opp["id"]);
    let reply = env
        .get(&format!(
            "/opportunities?filter={}",
            enc("stage[eq]:CUSTOMER")
        ))
        .await;
    assert_eq!(reply.body["totalCount"], 0);

    let ws = env
        .create(
            "people",
            "createPerson",
            json!({"emails": {"primaryEmail": "a@x.io", "additionalEmails": ["B@x.io", "c@x.io"]}}),
        )
        .await;
    let reply = env
        .get(&format!(
            "/people?filter={}",
            enc("emails.additionalEmails[containsAny]:[\"b@x.io\",\"z@x.io\"]")
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["totalCount"], 1);
    assert_eq!(reply.body["data"]["people"][0]["id"], ws["id"]);
    env.sandbox.shutdown().await;
}

/// Walks every page forward, then every page backward from the end, and
/// checks that both walks see each record exactly once in the same order.
async fn walk_both_ways(env: &Env, query: &str, limit: usize, expected: usize) -> Vec<Value> {
    let mut forward = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/people?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&starting_after={}", enc(c)));
        }
        let reply = env.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.body["data"]["people"]
            .as_array()
            .expect("a page")
            .clone();
        assert_eq!(
            reply.body["totalCount"], expected,
            "totalCount counts the whole set"
        );
        assert_eq!(
            reply.body["pageInfo"]["hasPreviousPage"],
            Value::Bool(pages > 0)
        );
        pages += 1;
        forward.extend(page);
        if reply.body["pageInfo"]["hasNextPage"] != Value::Bool(true) {
            break;
        }
        cursor = reply.body["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
        assert!(pages < 100, "paging does not end");
    }
    let ids: Vec<&str> = forward.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), expected);
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        expected,
        "every record exactly once"
    );

    // Backward from the last page's start cursor.
    let last = env
        .get(&format!(
            "/people?{query}&limit={limit}&starting_after={}",
            enc(&cursor_of(env, query, &forward, expected - 1).await)
        ))
        .await;
    assert_eq!(
        last.body["data"]["people"].as_array().map(Vec::len),
        Some(0)
    );
    let mut backward: Vec<Value> = Vec::new();
    let mut before = cursor_of(env, query, &forward, expected - 1).await;
    // The record the cursor names comes first, then the pages before it.
    backward.push(forward[expected - 1].clone());
    loop {
        let reply = env
            .get(&format!(
                "/people?{query}&limit={limit}&ending_before={}",
                enc(&before)
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.body["data"]["people"]
            .as_array()
            .expect("a page")
            .clone();
        assert_eq!(reply.body["pageInfo"]["hasNextPage"], Value::Bool(true));
        for r in page.iter().rev() {
            backward.push(r.clone());
        }
        if reply.body["pageInfo"]["hasPreviousPage"] != Value::Bool(true) {
            break;
        }
        before = reply.body["pageInfo"]["startCursor"]
            .as_str()
            .expect("a cursor")
            .to_string();
    }
    backward.reverse();
    let back_ids: Vec<&str> = backward.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        back_ids, ids,
        "backward pages come in natural order and cover the same records"
    );
    forward
}

/// The cursor of the record at `index` of a full forward walk, read from a
/// one-record page.
async fn cursor_of(env: &Env, query: &str, forward: &[Value], index: usize) -> String {
    let mut cursor: Option<String> = None;
    for record in &forward[..=index] {
        let mut path = format!("/people?{query}&limit=1");
        if let Some(c) = &cursor {
            path.push_str(&format!("&starting_after={}", enc(c)));
        }
        let reply = env.get(&path).await;
        assert_eq!(reply.body["data"]["people"][0]["id"], record["id"]);
        cursor = reply.body["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
    }
    cursor.expect("a cursor")
}

async fn people_with_ties(env: &Env) -> usize {
    let cities = [
        "Paris", "Berlin", "Paris", "", "Austin", "Berlin", "Paris", "Rome", "", "Paris", "Berlin",
        "Oslo", "Paris", "Lima", "Paris", "Kyiv", "Paris",
    ];
    let firsts = [
        "Ann", "Bob", "Ann", "Cid", "Ann", "Bob", "Dee", "Ann", "Eve", "Bob", "Ann", "Cid", "Bob",
        "Ann", "Dee", "Ann", "Bob",
    ];
    let rows: Vec<Value> = cities
        .iter()
        .zip(firsts)
        .enumerate()
        .map(|(i, (city, first))| {
            let job = if i % 4 == 0 { Value::Null } else { json!(format!("J{}", i % 3)) };
            json!({"city": city, "name": {"firstName": first, "lastName": format!("L{}", i % 2)}, "jobTitle": job, "position": i % 5})
        })
        .collect();
    let n = rows.len();
    let reply = env.post("/batch/people", Value::Array(rows)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    n
}

#[tokio::test]
async fn paging_default_order_is_by_id() {
    let env = Env::start(catalog(V1)).await;
    let n = people_with_ties(&env).await;
    let all = walk_both_ways(&env, "", 4, n).await;
    let ids: Vec<&str> = all.iter().filter_map(|r| r["id"].as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn paging_with_ties_and_directions() {
    let env = Env::start(catalog(V1)).await;
    let n = people_with_ties(&env).await;
    let all = walk_both_ways(
        &env,
        &format!("order_by={}", enc("city[DescNullsLast],position")),
        3,
        n,
    )
    .await;
    let cities: Vec<&str> = all.iter().filter_map(|r| r["city"].as_str()).collect();
    let mut sorted = cities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(cities, sorted);

    walk_both_ways(
        &env,
        &format!("order_by={}", enc("jobTitle[AscNullsLast]")),
        5,
        n,
    )
    .await;
    let nulls_first = walk_both_ways(&env, &format!("order_by={}", enc("jobTitle")), 2, n).await;
    assert_eq!(
        nulls_first[0]["jobTitle"],
        Value::Null,
        "AscNullsFirst is the default"
    );
    walk_both_ways(
        &env,
        &format!("order_by={}", enc("jobTitle[DescNullsFirst],city")),
        4,
        n,
    )
    .await;
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn paging_with_a_composite_sort_key() {
    let env = Env::start(catalog(V1)).await;
    let n = people_with_ties(&env).await;
    let all = walk_both_ways(
        &env,
        &format!(
            "order_by={}",
            enc("name.firstName[DescNullsLast],name.lastName")
        ),
        3,
        n,
    )
    .await;
    let firsts: Vec<&str> = all
        .iter()
        .filter_map(|r| r["name"]["firstName"].as_str())
        .collect();
    let mut sorted = firsts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(firsts, sorted);

    // A whole composite sorts by its sub-fields, and its cursor carries it.
    walk_both_ways(&env, "order_by=name", 4, n).await;
    let reply = env.get("/people?order_by=name&limit=1").await;
    let cursor = reply.body["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .expect("base64");
    let json: Value = serde_json::from_slice(&decoded).expect("json");
    assert!(
        json["name"]["firstName"].is_string() && json["id"].is_string(),
        "{json}"
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn limits_and_empty_pages() {
    let env = Env::start(catalog(V1)).await;
    let rows: Vec<Value> = (0..60)
        .map(|i| json!({"name": format!("c{i:02}")}))
        .collect();
    env.post("/batch/companies", Value::Array(rows.clone()))
        .await;
    env.post("/batch/companies", Value::Array(rows[..10].to_vec()))
        .await;

    let reply = env.get("/companies").await;
    assert_eq!(
        reply.body["data"]["companies"].as_array().map(Vec::len),
        Some(60),
        "default limit 60"
    );
    assert_eq!(reply.body["pageInfo"]["hasNextPage"], true);
    assert_eq!(reply.body["totalCount"], 70);
    let reply = env.get("/companies?limit=500").await;
    assert_eq!(
        reply.body["data"]["companies"].as_array().map(Vec::len),
        Some(60),
        "clamped to the document's maximum"
    );

    let reply = env
        .get(&format!("/companies?filter={}", enc("name[eq]:\"none\"")))
        .await;
    assert_eq!(reply.body["pageInfo"]["startCursor"], Value::Null);
    assert_eq!(reply.body["pageInfo"]["endCursor"], Value::Null);
    assert_eq!(reply.body["pageInfo"]["hasNextPage"], false);
    assert_eq!(reply.body["totalCount"], 0);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn depth_levels() {
    let env = Env::start(catalog(V1)).await;
    let company = env
        .create("companies", "createCompany", json!({"name": "Acme"}))
        .await;
    let cid = company["id"].as_str().expect("an id").to_string();
    let ada = env
        .create(
            "people",
            "createPerson",
            json!({"name": {"firstName": "Ada"}, "companyId": cid}),
        )
        .await;
    env.create(
        "people",
        "createPerson",
        json!({"name": {"firstName": "Bob"}, "companyId": cid}),
    )
    .await;
    env.create(
        "people",
        "createPerson",
        json!({"name": {"firstName": "Loner"}}),
    )
    .await;
    let aid = ada["id"].as_str().expect("an id").to_string();

    let d0 = env.get(&format!("/people/{aid}?depth=0")).await;
    let p0 = &d0.body["data"]["person"];
    assert_eq!(p0["companyId"], cid.as_str());
    assert!(p0.get("company").is_none() && p0.get("noteTargets").is_none());

    let d1 = env.get(&format!("/people/{aid}?depth=1")).await;
    let p1 = &d1.body["data"]["person"];
    assert_eq!(p1["company"]["name"], "Acme");
    assert!(
        p1["company"].get("people").is_none(),
        "nested records carry no relations at depth 1"
    );
    assert_eq!(p1["noteTargets"], json!([]));

    let d2 = env.get(&format!("/people/{aid}?depth=2")).await;
    let colleagues = d2.body["data"]["person"]["company"]["people"]
        .as_array()
        .expect("a list");
    assert_eq!(colleagues.len(), 2);
    assert!(
        colleagues[0].get("company").is_none(),
        "depth 2 stops after two levels"
    );

    let list = env
        .get(&format!(
            "/companies?depth=1&filter={}",
            enc(&format!("id[eq]:\"{cid}\""))
        ))
        .await;
    let people = list.body["data"]["companies"][0]["people"]
        .as_array()
        .expect("a plain array");
    assert_eq!(people.len(), 2);
    let loner = env
        .get(&format!(
            "/people?depth=1&filter={}",
            enc("name.firstName[eq]:\"Loner\"")
        ))
        .await;
    assert_eq!(loner.body["data"]["people"][0]["company"], Value::Null);
    env.sandbox.shutdown().await;
}
