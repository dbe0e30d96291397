//! Single-record operations, envelopes, server-set fields, defaults,
//! validation and the error envelope, against the v1.0.3 document.
mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::*;

fn message(reply: &Reply) -> String {
    reply.body["messages"][0]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_error(reply: &Reply, status: u16, error: &str, starts: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["statusCode"], status);
    assert_eq!(reply.body["error"], error);
    assert!(
        message(reply).starts_with(starts),
        "message {:?} should start with {starts:?}",
        message(reply)
    );
}

#[tokio::test]
async fn create_get_update_delete_envelopes() {
    let env = Env::start(catalog(V1)).await;

    let person = env
        .create("people", "createPerson", json!({"name": {"firstName": "Ada", "lastName": "Lovelace"}, "emails": {"primaryEmail": "Ada@Example.COM"}}))
        .await;
    let id = person["id"].as_str().expect("an id").to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(person["emails"]["primaryEmail"], "ada@example.com");
    assert_eq!(person["emails"]["additionalEmails"], Value::Null);
    assert_eq!(person["jobTitle"], "");
    assert_eq!(person["position"], 0);
    assert_eq!(person["deletedAt"], Value::Null);
    assert_eq!(person["phones"]["primaryPhoneNumber"], "");
    assert_eq!(person["linkedinLink"]["secondaryLinks"], Value::Null);
    assert_eq!(
        person["createdBy"],
        json!({"source": "API", "workspaceMemberId": null, "name": "Sandbox API key", "context": {}})
    );
    let created_at = person["createdAt"].as_str().expect("a timestamp");
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );
    assert_eq!(person["updatedAt"], person["createdAt"]);
    assert!(
        person.get("company").is_none(),
        "no relation keys at depth 0"
    );

    let reply = env.get(&format!("/people/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"]["person"], person);

    let reply = env
        .patch(
            &format!("/people/{id}"),
            json!({"name": {"lastName": "King"}, "jobTitle": "Countess"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let updated = &reply.body["data"]["updatePerson"];
    assert_eq!(
        updated["name"],
        json!({"firstName": "Ada", "lastName": "King"}),
        "composites merge"
    );
    assert_eq!(updated["jobTitle"], "Countess");
    assert_eq!(updated["emails"]["primaryEmail"], "ada@example.com");
    assert!(updated["updatedAt"].as_str() >= person["updatedAt"].as_str());

    let reply = env
        .call(
            Method::PUT,
            &format!("/people/{id}"),
            Some(json!({"city": "London"})),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"]["updatePerson"]["city"], "London");

    let reply = env.delete(&format!("/people/{id}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"data": {"deletePerson": {"id": id}}}));
    assert_error(
        &env.get(&format!("/people/{id}")).await,
        404,
        "NotFoundException",
        "Record not found",
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn create_many_is_ordered_and_all_or_nothing() {
    let env = Env::start(catalog(V1)).await;
    let reply = env
        .post(
            "/batch/companies",
            json!([{"name": "A"}, {"name": "B"}, {"name": "C"}]),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let names: Vec<&str> = reply.body["data"]["createCompanies"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);

    let taken = reply.body["data"]["createCompanies"][0]["id"].clone();
    let reply = env
        .post(
            "/batch/companies",
            json!([{"name": "D"}, {"id": taken, "name": "E"}]),
        )
        .await;
    assert_error(&reply, 400, "BadRequestException", "Record already exists");
    let all = env.get("/companies").await;
    assert_eq!(
        all.body["totalCount"], 3,
        "nothing of the failed batch was written"
    );

    assert_error(
        &env.post("/batch/companies", json!({"name": "x"})).await,
        400,
        "BadRequestException",
        "Body must be an array",
    );
    assert_error(
        &env.post("/batch/companies", json!([])).await,
        400,
        "BadRequestException",
        "Input must not be empty",
    );
    let too_many: Vec<Value> = (0..61).map(|i| json!({"name": format!("n{i}")})).collect();
    assert_error(
        &env.post("/batch/companies", Value::Array(too_many)).await,
        400,
        "BadRequestException",
        "Maximum number of records to upsert is 60.",
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn server_fields_and_client_ids() {
    let env = Env::start(catalog(V1)).await;
    let id = "0b6e5f4c-3d2a-4b1c-9e8f-7a6b5c4d3e2f";
    let company = env
        .create("companies", "createCompany", json!({"id": id, "name": "Given", "position": 7, "createdBy": {"source": "IMPORT", "name": "Importer"}}))
        .await;
    assert_eq!(company["id"], id);
    assert_eq!(company["position"], 7);
    assert_eq!(company["createdBy"]["source"], "IMPORT");
    assert_eq!(company["createdBy"]["name"], "Importer");
    assert_eq!(
        company["domainName"],
        json!({"primaryLinkUrl": "", "primaryLinkLabel": "", "secondaryLinks": null})
    );
    assert_eq!(
        company["annualRecurringRevenue"]["amountMicros"],
        Value::Null
    );
    assert_eq!(company["annualRecurringRevenue"]["currencyCode"], "");
    assert_eq!(company["address"]["addressCity"], "");
    assert_eq!(company["address"]["addressLat"], Value::Null);
    assert_error(
        &env.post("/companies", json!({"id": id, "name": "Again"}))
            .await,
        400,
        "BadRequestException",
        "Record already exists",
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn validation_errors() {
    let env = Env::start(catalog(V1)).await;
    assert_error(
        &env.post("/companies", json!({"nmae": "x"})).await,
        400,
        "BadRequestException",
        "Field metadata for field \"nmae\" is missing in object metadata",
    );
    assert_error(
        &env.post("/opportunities", json!({"stage": "WON"})).await,
        400,
        "BadRequestException",
        "invalid input value for enum",
    );
    assert_error(
        &env.post("/people", json!({"companyId": "not-a-uuid"}))
            .await,
        400,
        "BadRequestException",
        "invalid value for field \"companyId\"",
    );
    assert_error(
        &env.post(
            "/people",
            json!({"companyId": "0b6e5f4c-3d2a-4b1c-9e8f-7a6b5c4d3e2f"}),
        )
        .await,
        400,
        "BadRequestException",
        "companyId '0b6e5f4c",
    );
    assert_error(
        &env.post("/companies", json!({"name": null, "address": null}))
            .await,
        400,
        "BadRequestException",
        "invalid value for field \"address\"",
    );
    assert_error(
        &env.post("/companies", json!({"employees": "many"})).await,
        400,
        "BadRequestException",
        "invalid value for field \"employees\"",
    );

    let raw = env
        .http
        .post(env.url("/companies"))
        .bearer_auth(env.sandbox.api_key())
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("an answer");
    assert_eq!(raw.status().as_u16(), 400);
    let body: Value = raw.json().await.expect("json");
    assert_eq!(body["error"], "BadRequestException");

    env.create(
        "people",
        "createPerson",
        json!({"emails": {"primaryEmail": "same@example.com"}}),
    )
    .await;
    let reply = env
        .post(
            "/people",
            json!({"emails": {"primaryEmail": "SAME@example.com"}}),
        )
        .await;
    assert_error(
        &reply,
        400,
        "BadRequestException",
        "A duplicate entry was detected",
    );
    assert!(message(&reply).contains("emails.primaryEmail"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn path_and_query_errors() {
    let env = Env::start(catalog(V1)).await;
    assert_error(
        &env.get("/persons").await,
        400,
        "BadRequestException",
        "object 'persons' not found. eg: companies",
    );
    let reply = env.get("/person").await;
    assert_error(
        &reply,
        400,
        "BadRequestException",
        "object 'person' not found. eg: companies",
    );
    assert!(
        message(&reply).contains("Did you mean 'people'?"),
        "{}",
        message(&reply)
    );
    assert_error(
        &env.get("/people/abc").await,
        400,
        "BadRequestException",
        "'abc' is not a valid UUID",
    );
    assert_error(
        &env.get("/people/0b6e5f4c-3d2a-4b1c-9e8f-7a6b5c4d3e2f")
            .await,
        404,
        "NotFoundException",
        "Record not found",
    );
    assert_error(
        &env.patch(
            "/people/0b6e5f4c-3d2a-4b1c-9e8f-7a6b5c4d3e2f",
            json!({"city": "x"}),
        )
        .await,
        404,
        "NotFoundException",
        "Record not found",
    );
    assert_error(
        &env.delete("/people/0b6e5f4c-3d2a-4b1c-9e8f-7a6b5c4d3e2f")
            .await,
        404,
        "NotFoundException",
        "Record not found",
    );
    assert_error(
        &env.get("/people?filter=nope[eq]:1").await,
        400,
        "BadRequestException",
        "field 'nope' does not exist in 'person' object",
    );
    assert_error(
        &env.get("/people?order_by=nope").await,
        400,
        "BadRequestException",
        "field 'nope' does not exist in 'person' object",
    );
    assert_error(
        &env.get("/people?filter=city").await,
        400,
        "BadRequestException",
        "'filter' invalid",
    );
    assert_error(
        &env.get(&format!("/opportunities?filter={}", enc("stage[eq]:WON")))
            .await,
        400,
        "BadRequestException",
        "'filter' enum value 'WON' not available in 'stage' enum. Available enum values are [",
    );
    assert_error(
        &env.get("/people?limit=abc").await,
        400,
        "BadRequestException",
        "limit 'abc' is invalid. Should be an integer",
    );
    assert_error(
        &env.get("/people?limit=-1").await,
        400,
        "BadRequestException",
        "limit '-1' is invalid. Should be an integer",
    );
    assert_error(
        &env.get("/people?depth=3").await,
        400,
        "BadRequestException",
        "'depth=3' parameter invalid. Allowed values are 0, 1, 2",
    );
    assert_error(
        &env.get("/people?starting_after=%21%21").await,
        400,
        "BadRequestException",
        "Invalid cursor: !!",
    );
    assert_error(
        &env.get("/people?order_by=name.firstName%5BSideways%5D")
            .await,
        400,
        "BadRequestException",
        "'order_by' invalid",
    );
    // v1.0 offers no update many: the route does not exist.
    assert_error(
        &env.patch(
            "/people?filter=city%5Beq%5D%3A%22x%22",
            json!({"city": "y"}),
        )
        .await,
        404,
        "NotFoundException",
        "Cannot PATCH",
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn authentication() {
    let env = Env::start(catalog(V1)).await;
    let url = env.url("/companies");
    let none = env.http.get(&url).send().await.expect("an answer");
    assert_eq!(none.status().as_u16(), 403);
    let body: Value = none.json().await.expect("json");
    assert_eq!(
        body,
        json!({"statusCode": 403, "error": "FORBIDDEN_EXCEPTION", "messages": ["Missing authentication token"]})
    );

    let empty = env
        .http
        .get(&url)
        .header("authorization", "Bearer ")
        .send()
        .await
        .expect("an answer");
    assert_eq!(empty.status().as_u16(), 403);

    let wrong = env
        .http
        .get(&url)
        .bearer_auth("not-the-key")
        .send()
        .await
        .expect("an answer");
    assert_eq!(wrong.status().as_u16(), 401);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(
        body,
        json!({"statusCode": 401, "error": "UNAUTHENTICATED", "messages": ["Token invalid."]})
    );

    let right = env
        .http
        .get(&url)
        .bearer_auth(env.sandbox.api_key())
        .send()
        .await
        .expect("an answer");
    assert_eq!(right.status().as_u16(), 200);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn duplicates_by_criteria() {
    let env = Env::start(catalog(V1)).await;
    let a = env.create("people", "createPerson", json!({"name": {"firstName": "John", "lastName": "Smith"}, "emails": {"primaryEmail": "john@a.com"}})).await;
    let b = env.create("people", "createPerson", json!({"name": {"firstName": "John", "lastName": "Smith"}, "emails": {"primaryEmail": "js@b.com"}})).await;
    env.create("people", "createPerson", json!({"name": {"firstName": "Jo", "lastName": "Li"}, "emails": {"primaryEmail": "jo@c.com"}})).await;
    env.create("people", "createPerson", json!({"name": {"firstName": "Jo", "lastName": "Li"}, "emails": {"primaryEmail": "jo2@c.com"}})).await;

    let reply = env
        .post("/people/duplicates", json!({"ids": [a["id"]]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list = reply.body["data"][0]["personDuplicates"]
        .as_array()
        .expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], b["id"]);
    assert_eq!(reply.body["data"][0]["totalCount"], 1);

    let reply = env
        .post("/people/duplicates", json!({"data": [{"emails": {"primaryEmail": "JS@b.com"}}, {"name": {"firstName": "Jo", "lastName": "Li"}}]}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"][0]["personDuplicates"][0]["id"], b["id"]);
    assert_eq!(
        reply.body["data"][1]["totalCount"], 0,
        "names under 3 characters are no criterion"
    );

    let c1 = env
        .create(
            "companies",
            "createCompany",
            json!({"name": "Acme", "domainName": {"primaryLinkUrl": "https://acme.io"}}),
        )
        .await;
    env.create(
        "companies",
        "createCompany",
        json!({"name": "Other", "domainName": {"primaryLinkUrl": "https://acme.io"}}),
    )
    .await;
    let reply = env
        .post("/companies/duplicates", json!({"ids": [c1["id"]]}))
        .await;
    assert_eq!(
        reply.body["data"][0]["companyDuplicates"][0]["name"],
        "Other"
    );

    assert_error(
        &env.post("/people/duplicates", json!({})).await,
        400,
        "BadRequestException",
        "You have to provide either \"data\" or \"ids\" argument",
    );
    assert_error(
        &env.post("/people/duplicates", json!({"data": [], "ids": []}))
            .await,
        400,
        "BadRequestException",
        "You cannot provide both \"data\" and \"ids\" arguments",
    );
    assert_error(
        &env.post("/people/duplicates", json!({"data": []})).await,
        400,
        "BadRequestException",
        "The \"data\" condition can not be empty when \"ids\" input not provided",
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn hard_delete_cascades() {
    let env = Env::start(catalog(V1)).await;
    let company = env
        .create("companies", "createCompany", json!({"name": "Acme"}))
        .await;
    let person = env
        .create(
            "people",
            "createPerson",
            json!({"companyId": company["id"]}),
        )
        .await;
    let note = env
        .create("notes", "createNote", json!({"title": "n"}))
        .await;
    env.create(
        "noteTargets",
        "createNoteTarget",
        json!({"noteId": note["id"], "companyId": company["id"]}),
    )
    .await;
    env.create(
        "noteTargets",
        "createNoteTarget",
        json!({"noteId": note["id"], "personId": person["id"]}),
    )
    .await;

    let reply = env
        .delete(&format!(
            "/companies/{}",
            company["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(reply.status, 200);
    let person = env
        .get(&format!(
            "/people/{}",
            person["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!(person.body["data"]["person"]["companyId"], Value::Null);
    let targets = env.get("/noteTargets").await;
    assert_eq!(
        targets.body["totalCount"], 1,
        "the company's note target went with it"
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn demo_seed_fills_a_new_store() {
    let mut config = twenty_sandbox::SandboxConfig::new(catalog(V1));
    config.seed = twenty_sandbox::Seed::Demo;
    let env = Env::with(config).await;
    let companies = env.get("/companies?depth=1").await;
    assert_eq!(companies.body["totalCount"], 3);
    let first = &companies.body["data"]["companies"][0];
    assert!(
        first["people"].as_array().is_some_and(|p| p.len() == 2),
        "{first}"
    );
    for (plural, at_least) in [
        ("people", 6),
        ("opportunities", 4),
        ("notes", 2),
        ("noteTargets", 4),
        ("tasks", 3),
        ("taskTargets", 3),
        ("workflows", 1),
        ("workflowVersions", 1),
        ("workflowRuns", 4),
    ] {
        let reply = env.get(&format!("/{plural}")).await;
        assert!(
            reply.body["totalCount"]
                .as_u64()
                .is_some_and(|n| n >= at_least),
            "{plural}: {}",
            reply.body["totalCount"]
        );
    }
    let runs = env.get("/workflowRuns").await;
    let mut statuses: Vec<&str> = runs.body["data"]["workflowRuns"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["COMPLETED", "FAILED", "NOT_STARTED", "RUNNING"]);
    env.sandbox.shutdown().await;
}
