//! Import and export called through the library against an in-process
//! sandbox: formats, reject files, refused rows inside a batch, dry runs,
//! `--update-by`, resuming from a journal, round trips, and jobs of 10,000
//! records under injected faults.

mod bulk_support;

use std::collections::HashSet;
use std::path::Path;

use bulk_support::*;
use serde_json::{Value, json};
use twenty_cli::bulk::journal::{self, Header, Journal};
use twenty_cli::bulk::{self, ExportArgs, FileFormat, ImportArgs};
use twenty_client::Client;
use twenty_core::{Catalog, Object};
use twenty_sandbox::Seed;

fn import_args(file: &Path) -> ImportArgs {
    ImportArgs {
        file: file.to_owned(),
        as_format: None,
        format_hint: None,
        batch_size: None,
        concurrency: 4,
        dry_run: false,
        update_by: None,
        reject_file: None,
        resume: false,
        no_progress: true,
        interruptible: false,
    }
}

fn export_args(output: &Path, format: FileFormat) -> ExportArgs {
    ExportArgs {
        filter: None,
        order_by: None,
        as_format: Some(format),
        format_hint: None,
        output_file: Some(output.to_owned()),
        depth: None,
        page_size: None,
        interruptible: false,
    }
}

fn reject_path(file: &Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".rejects.jsonl");
    name.into()
}

async fn companies(client: &Client, catalog: &Catalog, n: usize) -> Vec<String> {
    let object = object(catalog, "companies");
    let mut ids = Vec::new();
    for i in 0..n {
        let created = client
            .create_one(object, json!({"name": format!("Company {i}")}), None)
            .await
            .expect("company created");
        ids.push(created["id"].as_str().expect("id").to_owned());
    }
    ids
}

async fn run_import(client: &Client, catalog: &Catalog, object: &Object, args: &ImportArgs) -> i32 {
    bulk::import(client, catalog, object, args)
        .await
        .expect("import runs")
}

#[tokio::test]
async fn csv_import_creates_people_with_their_companies() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let company_ids = companies(&client, &catalog, 3).await;
    let dir = scratch("csv-import");
    let file = dir.join("people.csv");
    // 130 rows: two full batches of 60 and one of 10.
    std::fs::write(&file, people_csv(130, &company_ids)).unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 0);
    let records = all(&client, people).await;
    assert_eq!(records.len(), 130);
    let p7 = records
        .iter()
        .find(|r| r["emails"]["primaryEmail"] == "p7@bulk.test")
        .expect("row 7 created");
    assert_eq!(
        p7["name"],
        json!({"firstName": "First7", "lastName": "Last7"})
    );
    assert_eq!(p7["companyId"], json!(company_ids[7 % 3]));
    assert_eq!(p7["city"], "City 0");
    assert!(
        tally(&records, "/emails/primaryEmail")
            .values()
            .all(|n| *n == 1)
    );
    assert!(
        !journal::path_for(&file).exists(),
        "journal removed after success"
    );
    assert!(
        !reject_path(&file).exists(),
        "no reject file when nothing is rejected"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn jsonl_import_takes_nested_and_dotted_keys() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let company_ids = companies(&client, &catalog, 1).await;
    let dir = scratch("jsonl-import");
    let file = dir.join("people.jsonl");
    let lines = [
        json!({"name": {"firstName": "Ada", "lastName": "Lovelace"},
               "emails": {"primaryEmail": "ADA@Example.com"}, "companyId": company_ids[0]}),
        json!({"name.firstName": "Alan", "emails.primary-email": "alan@example.com",
               "job-title": "Mathematician", "position": "3"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n\n")).collect();
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 0);
    let records = all(&client, people).await;
    assert_eq!(records.len(), 2);
    let ada = records
        .iter()
        .find(|r| r["name"]["firstName"] == "Ada")
        .unwrap();
    assert_eq!(ada["emails"]["primaryEmail"], "ada@example.com");
    assert_eq!(ada["companyId"], json!(company_ids[0]));
    let alan = records
        .iter()
        .find(|r| r["name"]["firstName"] == "Alan")
        .unwrap();
    assert_eq!(alan["jobTitle"], "Mathematician");
    // Text for a number field is converted by the field's type.
    assert_eq!(alan["position"].as_f64(), Some(3.0));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn invalid_rows_go_to_the_reject_file_and_the_rest_is_created() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let tasks = object(&catalog, "tasks");
    let dir = scratch("rejects");
    let file = dir.join("tasks.jsonl");
    let text = [
        r#"{"title": "fine", "status": "todo"}"#,
        r#"{"title": "bad enum", "status": "SOMEDAY"}"#,
        r#"{"title": "bad uuid", "assigneeId": "not-a-uuid"}"#,
        r#"{"title": "unknown key", "colour": "red"}"#,
        r#"{"title": "not json""#,
        r#"{"title": "also fine", "status": "IN_PROGRESS"}"#,
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, tasks, &import_args(&file)).await;

    assert_eq!(code, 1, "some rows rejected");
    let records = all(&client, tasks).await;
    let mut titles: Vec<&str> = records.iter().filter_map(|r| r["title"].as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["also fine", "fine"]);
    let fine = records.iter().find(|r| r["title"] == "fine").unwrap();
    assert_eq!(fine["status"], "TODO", "enum values are canonicalized");

    let rejects = rejects(&reject_path(&file));
    let rows: Vec<u64> = rejects.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 3, 4, 5]);
    let reason = |i: usize| rejects[i]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason(0).contains("SOMEDAY") && reason(0).contains("TODO"),
        "{}",
        reason(0)
    );
    assert!(
        reason(1).contains("assigneeId") && reason(1).contains("not-a-uuid"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("colour"), "{}", reason(2));
    assert!(reason(3).contains("invalid JSON"), "{}", reason(3));
    assert_eq!(
        rejects[0]["input"],
        json!({"title": "bad enum", "status": "SOMEDAY"})
    );
    assert_eq!(rejects[3]["input"], json!(r#"{"title": "not json""#));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn rejects_name_the_line_in_files_with_crlf_endings_and_quoted_breaks() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let tasks = object(&catalog, "tasks");
    let dir = scratch("crlf");
    let file = dir.join("tasks.csv");
    // As a spreadsheet saves it: CRLF endings, a cell with a line break and
    // a quote in it, a blank line.
    let text = "title,status\r\n\"two\r\nlines, \"\"quoted\"\"\",TODO\r\nbad,SOMEDAY\r\n\r\nfine,DONE\r\nworse,NEVER\r\n";
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, tasks, &import_args(&file)).await;

    assert_eq!(code, 1);
    let rows: Vec<u64> = rejects(&reject_path(&file))
        .iter()
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [4, 7], "the lines an editor shows");
    let mut titles: Vec<String> = all(&client, tasks)
        .await
        .iter()
        .filter_map(|r| r["title"].as_str().map(str::to_owned))
        .collect();
    titles.sort();
    assert_eq!(titles, ["fine", "two\r\nlines, \"quoted\""]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_row_with_more_or_fewer_cells_than_the_header_is_kept_for_a_retry() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let tasks = object(&catalog, "tasks");
    let dir = scratch("ragged");
    let file = dir.join("tasks.csv");
    let text = "title,status\nshort\n\"long, quoted\",TODO,extra\nfine,TODO\n";
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, tasks, &import_args(&file)).await;

    assert_eq!(code, 1);
    let rejects = rejects(&reject_path(&file));
    let found: Vec<(u64, &str, &Value)> = rejects
        .iter()
        .map(|r| {
            let reason = r["reason"].as_str().unwrap();
            (r["row"].as_u64().unwrap(), reason, &r["input"])
        })
        .collect();
    assert_eq!(
        found,
        [
            (2, "the row has 1 cell, the header has 2", &json!(["short"])),
            (
                3,
                "the row has 3 cells, the header has 2",
                &json!(["long, quoted", "TODO", "extra"])
            ),
        ]
    );

    // The README's retry: the header, then each reject's cells as a CSV
    // line (`jq -r '[.input[]] | @csv'`), here fixed on the way.
    let mut again = csv::Writer::from_path(dir.join("again.csv")).unwrap();
    again.write_record(["title", "status"]).unwrap();
    for reject in &rejects {
        let mut cells: Vec<&str> = reject["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        cells.resize(2, "TODO");
        again.write_record(cells).unwrap();
    }
    again.flush().unwrap();
    let code = run_import(
        &client,
        &catalog,
        tasks,
        &import_args(&dir.join("again.csv")),
    )
    .await;
    assert_eq!(code, 0);
    let mut titles: Vec<String> = all(&client, tasks)
        .await
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    assert_eq!(titles, ["fine", "long, quoted", "short"]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_row_the_server_refuses_costs_only_itself() {
    let sandbox = Counted::start(Seed::Empty, None).await;
    let client = sandbox.client();
    let catalog = catalog();
    let people = object(&catalog, "people");
    client
        .create_one(
            people,
            json!({"emails": {"primaryEmail": "p29@bulk.test"}}),
            None,
        )
        .await
        .unwrap();
    let dir = scratch("server-refused");
    let file = dir.join("people.csv");
    // One batch of 60 whose row for p29 repeats an existing primary e-mail,
    // which only the server can know.
    std::fs::write(&file, people_csv(60, &[])).unwrap();
    sandbox.reset();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 1);
    // Halving finds the row: the batch, then a half of each size down to
    // it, skipping the halves that must hold it. Halving blindly cost 12
    // creates and a look-up after each refusal.
    let creates = sandbox.count("POST /rest/batch/people");
    assert!(creates <= 10, "{creates} create requests for one bad row");
    assert_eq!(sandbox.count("GET"), 0, "no answer was lost, so no look-up");
    let records = all(&client, people).await;
    assert_eq!(
        records.len(),
        60,
        "the 59 neighbours and the existing person"
    );
    let rejects = rejects(&reject_path(&file));
    assert_eq!(rejects.len(), 1);
    // Row 29 is line 31 of the file (header, then rows from 0).
    assert_eq!(rejects[0]["row"], 31);
    assert_eq!(rejects[0]["input"]["emails.primaryEmail"], "p29@bulk.test");
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(
        reason.to_lowercase().contains("primaryemail") || reason.contains("duplicate"),
        "{reason}"
    );
}

#[tokio::test]
async fn many_refused_rows_cost_about_one_request_each() {
    let sandbox = Counted::start(Seed::Empty, None).await;
    let client = sandbox.client();
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("dense-refusals");
    let first = dir.join("first.csv");
    let again = dir.join("again.csv");
    // 300 people, then the same 300 e-mails again (with other names), in
    // five batches of 60: every row of the second file is refused.
    let rows = 300;
    std::fs::write(&first, people_csv(rows, &[])).unwrap();
    assert_eq!(
        run_import(&client, &catalog, people, &import_args(&first)).await,
        0
    );
    std::fs::write(&again, people_csv(rows, &[]).replace("First", "Again")).unwrap();
    sandbox.reset();

    let code = run_import(&client, &catalog, people, &import_args(&again)).await;

    assert_eq!(code, 2, "no row could be created");
    let creates = sandbox.count("POST /rest/batch/people");
    eprintln!("{creates} create requests for {rows} refused rows");
    // Each refused row needs a request of its own to name it; the finding
    // out costs a few more per batch. Halving alone cost two a row.
    assert!(creates >= rows, "{creates}");
    assert!(
        creates * 100 <= rows * 115,
        "{creates} create requests for {rows} refused rows"
    );
    assert_eq!(sandbox.count("GET"), 0);
    assert_eq!(rejects(&reject_path(&again)).len(), rows);
    let records = all(&client, people).await;
    assert_eq!(records.len(), rows);
    assert!(records.iter().all(|r| {
        r["name"]["firstName"]
            .as_str()
            .is_some_and(|n| n.starts_with("First"))
    }));
}

#[tokio::test]
async fn rows_naming_existing_records_are_rejected_with_the_fix() {
    let sandbox = Counted::start(Seed::Empty, None).await;
    let client = sandbox.client();
    let catalog = catalog();
    let people = object(&catalog, "people");
    let mut existing = Vec::new();
    for i in 0..3 {
        let record = json!({"emails": {"primaryEmail": format!("old{i}@bulk.test")},
                            "city": "Before"});
        let created = client.create_one(people, record, None).await.unwrap();
        existing.push(created["id"].as_str().unwrap().to_owned());
    }
    let dir = scratch("existing-ids");
    let file = dir.join("people.csv");
    // What an export edited in a spreadsheet looks like: the three records
    // with their ids and a new city, two new rows with ids of their own,
    // and one without.
    let fresh = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let mut text = String::from("id,emails.primaryEmail,city\n");
    for (i, id) in existing.iter().enumerate() {
        text.push_str(&format!("{id},old{i}@bulk.test,After\n"));
    }
    for (i, id) in fresh.iter().enumerate() {
        text.push_str(&format!("{id},new{i}@bulk.test,After\n"));
    }
    text.push_str(",noid@bulk.test,After\n");
    std::fs::write(&file, text).unwrap();
    sandbox.reset();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 1, "three created, three rejected");
    assert_eq!(
        sandbox.count("GET /rest/people"),
        1,
        "one look-up for the batch's own ids"
    );
    let records = all(&client, people).await;
    assert_eq!(records.len(), 6);
    let city = |id: &str| {
        records
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["city"].clone())
    };
    for id in &existing {
        assert_eq!(city(id), Some(json!("Before")), "{id} was not touched");
    }
    for id in &fresh {
        assert_eq!(city(&id.to_string()), Some(json!("After")));
    }
    let rejects = rejects(&reject_path(&file));
    let rows: Vec<u64> = rejects.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 3, 4]);
    for (reject, id) in rejects.iter().zip(&existing) {
        let reason = reject["reason"].as_str().unwrap();
        assert!(reason.contains(id.as_str()), "{reason}");
        assert!(reason.contains("already exists"), "{reason}");
        assert!(reason.contains("--update-by id"), "{reason}");
    }

    // The fix the reason names, for the rejected rows only: the others
    // exist now, and the row without an id would be created again.
    let original = std::fs::read_to_string(&file).unwrap();
    let mut again = original.lines().next().unwrap().to_owned() + "\n";
    for reject in &rejects {
        let cells: Vec<&str> = reject["input"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap())
            .collect();
        again.push_str(&cells.join(","));
        again.push('\n');
    }
    let again_file = dir.join("again.csv");
    std::fs::write(&again_file, again).unwrap();
    let mut args = import_args(&again_file);
    args.update_by = Some("id".into());
    assert_eq!(run_import(&client, &catalog, people, &args).await, 0);
    let records = all(&client, people).await;
    assert_eq!(records.len(), 6, "updated, not created again");
    assert!(records.iter().all(|r| r["city"] == "After"));
}

#[tokio::test]
async fn a_second_row_with_the_same_id_is_rejected_before_sending() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("same-id");
    let file = dir.join("people.jsonl");
    let id = uuid::Uuid::new_v4().to_string();
    let upper = id.to_uppercase();
    let lines = [
        json!({"id": id, "city": "First"}),
        json!({"id": upper, "city": "Second"}),
        json!({"city": "Third"}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 1);
    let records = all(&client, people).await;
    let cities: HashSet<&str> = records.iter().filter_map(|r| r["city"].as_str()).collect();
    assert_eq!(cities, HashSet::from(["First", "Third"]));
    let rejects = rejects(&reject_path(&file));
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["row"], 2);
    let reason = rejects[0]["reason"].as_str().unwrap();
    assert!(reason.contains("row 1"), "{reason}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn own_ids_under_faults_are_created_once_and_taken_ones_rejected() {
    let sandbox = sandbox(Seed::Empty, Some(FAULTS)).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let rows = 600;
    // Every fifth row names a record that exists before the import.
    let ids: Vec<String> = (0..rows)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let taken: Vec<usize> = (0..rows).step_by(5).collect();
    for chunk in taken.chunks(60) {
        let records = chunk
            .iter()
            .map(
                |i| json!({"id": ids[*i], "emails": {"primaryEmail": format!("old{i}@bulk.test")}}),
            )
            .collect();
        client.create_many(people, records, None).await.unwrap();
    }
    let dir = scratch("own-ids-faults");
    let file = dir.join("people.csv");
    let mut text = String::from("id,emails.primaryEmail\n");
    for (i, id) in ids.iter().enumerate() {
        text.push_str(&format!("{id},p{i}@bulk.test\n"));
    }
    std::fs::write(&file, text).unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 1);
    let records = all(&client, people).await;
    assert_eq!(
        records.len(),
        rows,
        "{} old and {} new",
        taken.len(),
        rows - taken.len()
    );
    let by_id = tally(&records, "/id");
    assert!(ids.iter().all(|id| by_id.get(id) == Some(&1)));
    let emails = tally(&records, "/emails/primaryEmail");
    for i in 0..rows {
        let (old, new) = (format!("old{i}@bulk.test"), format!("p{i}@bulk.test"));
        if i % 5 == 0 {
            assert_eq!(
                (emails.get(&old), emails.get(&new)),
                (Some(&1), None),
                "row {i}"
            );
        } else {
            assert_eq!(
                (emails.get(&old), emails.get(&new)),
                (None, Some(&1)),
                "row {i}"
            );
        }
    }
    let rejects = rejects(&reject_path(&file));
    let rows_rejected: Vec<u64> = rejects.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = taken.iter().map(|i| *i as u64 + 2).collect();
    assert_eq!(rows_rejected, expected);
    assert!(
        rejects
            .iter()
            .all(|r| r["reason"].as_str().unwrap().contains("already exists"))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unknown_csv_column_stops_the_import_before_sending() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("unknown-column");
    let file = dir.join("people.csv");
    std::fs::write(&file, "name.firstName,citty\nAda,London\n").unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 2);
    assert_eq!(all(&client, people).await.len(), 0);
    assert!(!journal::path_for(&file).exists());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn dry_run_checks_every_row_and_sends_nothing() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("dry-run");
    let file = dir.join("people.csv");
    let mut text = people_csv(10, &[]);
    text.push_str("Bad,Row,bad@bulk.test,not-a-uuid,Nowhere\n");
    std::fs::write(&file, text).unwrap();
    let mut args = import_args(&file);
    args.dry_run = true;

    let code = run_import(&client, &catalog, people, &args).await;

    assert_eq!(code, 1);
    assert_eq!(all(&client, people).await.len(), 0);
    let rejects = rejects(&reject_path(&file));
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0]["row"], 12);
    assert!(
        !journal::path_for(&file).exists(),
        "a dry run keeps no journal"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn update_by_updates_matching_records_instead_of_duplicating() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("update-by");
    let first = dir.join("first.csv");
    std::fs::write(&first, people_csv(10, &[])).unwrap();
    assert_eq!(
        run_import(&client, &catalog, people, &import_args(&first)).await,
        0
    );

    // Rows 0..10 again with a job title (one e-mail in other case), and
    // five new people.
    let second = dir.join("second.csv");
    let mut text = String::from("emails.primaryEmail,jobTitle\n");
    for i in 0..15 {
        let email = if i == 3 {
            "P3@Bulk.Test".to_owned()
        } else {
            format!("p{i}@bulk.test")
        };
        text.push_str(&format!("{email},Title {i}\n"));
    }
    std::fs::write(&second, text).unwrap();
    let mut args = import_args(&second);
    args.update_by = Some("emails.primary-email".into());

    let code = run_import(&client, &catalog, people, &args).await;

    assert_eq!(code, 0);
    let records = all(&client, people).await;
    assert_eq!(records.len(), 15, "ten updated, five created");
    assert!(
        tally(&records, "/emails/primaryEmail")
            .values()
            .all(|n| *n == 1)
    );
    for record in &records {
        let email = record["emails"]["primaryEmail"].as_str().unwrap();
        let i: usize = email
            .trim_start_matches('p')
            .trim_end_matches("@bulk.test")
            .parse()
            .unwrap();
        assert_eq!(record["jobTitle"], format!("Title {i}"));
        if i < 10 {
            assert_eq!(
                record["name"]["firstName"],
                format!("First{i}"),
                "update kept the name"
            );
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn update_by_rejects_a_row_whose_value_names_several_records_or_repeats() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    for city in ["Rome", "Rome", "Rome", "Oslo"] {
        let record = json!({"city": city, "jobTitle": "Before"});
        client.create_one(people, record, None).await.unwrap();
    }
    let dir = scratch("update-by-ambiguous");
    let file = dir.join("people.csv");
    let text = "city,jobTitle\nRome,After\nOslo,After\nParis,After\nOslo,Again\nParis,Again\n";
    std::fs::write(&file, text).unwrap();
    let mut args = import_args(&file);
    args.update_by = Some("city".into());

    let code = run_import(&client, &catalog, people, &args).await;

    assert_eq!(code, 1, "Oslo updated, Paris created, three rows rejected");
    let records = all(&client, people).await;
    let titles = |city: &str| -> Vec<String> {
        let mut titles: Vec<String> = records
            .iter()
            .filter(|r| r["city"] == city)
            .map(|r| r["jobTitle"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(
        titles("Rome"),
        ["Before", "Before", "Before"],
        "none guessed"
    );
    assert_eq!(titles("Oslo"), ["After"]);
    assert_eq!(titles("Paris"), ["After"], "created once");
    assert_eq!(records.len(), 5);

    let rejects = rejects(&reject_path(&file));
    let rows: Vec<u64> = rejects.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 5, 6]);
    let reason = |i: usize| rejects[i]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason(0).starts_with("3 people have city `Rome`") && reason(0).contains("none was"),
        "{}",
        reason(0)
    );
    assert!(
        reason(1).starts_with("row 3 has the same city `Oslo`"),
        "{}",
        reason(1)
    );
    assert!(
        reason(2).starts_with("row 4 has the same city `Paris`"),
        "{}",
        reason(2)
    );
    assert_eq!(
        rejects[0]["input"],
        json!({"city": "Rome", "jobTitle": "After"})
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_existing_journal_without_resume_is_refused() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("journal-refused");
    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(5, &[])).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let path = journal::path_for(&file);
    drop(Journal::create(&path, &Header::new("people", &bytes, None)).unwrap());

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 2);
    assert_eq!(all(&client, people).await.len(), 0);
    assert!(path.exists(), "the journal is left for --resume");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn resume_settles_a_batch_whose_answer_was_lost() {
    let sandbox = sandbox(Seed::Empty, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("resume");
    let (file, ids) = killed_mid_batch(&client, people, &dir).await;
    let path = twenty_cli::bulk::journal::path_for(&file);

    let mut args = import_args(&file);
    args.resume = true;
    let code = run_import(&client, &catalog, people, &args).await;

    assert_eq!(code, 0);
    let records = all(&client, people).await;
    assert_eq!(records.len(), 100);
    assert!(
        tally(&records, "/emails/primaryEmail")
            .values()
            .all(|n| *n == 1)
    );
    let held: HashSet<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(
        ids.iter().all(|id| held.contains(id.as_str())),
        "the journaled ids were used"
    );
    assert!(!path.exists());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn resume_keeps_the_rows_a_finished_batch_rejected_before_sending() {
    let sandbox = Counted::start(Seed::Empty, None).await;
    let client = sandbox.client();
    let catalog = catalog();
    let people = object(&catalog, "people");
    let taken = uuid::Uuid::new_v4().to_string();
    let fresh = uuid::Uuid::new_v4().to_string();
    let record = json!({"id": taken, "emails": {"primaryEmail": "old@bulk.test"}});
    client.create_one(people, record, None).await.unwrap();
    let dir = scratch("resume-taken");
    let file = dir.join("people.csv");
    let text = format!(
        "id,emails.primaryEmail\n{taken},taken@bulk.test\n{fresh},fresh@bulk.test\n,third@bulk.test\n"
    );
    std::fs::write(&file, &text).unwrap();

    // What a run killed after its first batch (lines 2 and 3) leaves: line
    // 2 rejected before sending since its id was taken, line 3 created.
    let record = json!({"id": fresh, "emails": {"primaryEmail": "fresh@bulk.test"}});
    client.create_one(people, record, None).await.unwrap();
    let path = journal::path_for(&file);
    let journal = Journal::create(&path, &Header::new("people", text.as_bytes(), None)).unwrap();
    journal
        .sending(0, &[3], std::slice::from_ref(&fresh))
        .unwrap();
    let outcome = journal::Outcome {
        created: vec![3],
        rejected: vec![journal::Rejection {
            row: 2,
            reason: format!("a record with id `{taken}` already exists"),
        }],
    };
    journal.done(0, &outcome).unwrap();
    drop(journal);
    sandbox.reset();

    let mut args = import_args(&file);
    args.resume = true;
    let code = run_import(&client, &catalog, people, &args).await;

    assert_eq!(code, 1);
    assert_eq!(sandbox.count("GET"), 0, "the journal settled lines 2 and 3");
    assert_eq!(sandbox.count("POST /rest/batch/people"), 1, "line 4 only");
    let rejects = rejects(&reject_path(&file));
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0]["row"], 2);
    let emails = tally(&all(&client, people).await, "/emails/primaryEmail");
    let mut held: Vec<&str> = emails.keys().map(String::as_str).collect();
    held.sort();
    assert_eq!(
        held,
        ["fresh@bulk.test", "old@bulk.test", "third@bulk.test"]
    );
}

/// Exports `plural` from one sandbox and returns the CSV rows without the
/// columns the server sets on every write.
async fn exported_rows(
    client: &Client,
    catalog: &Catalog,
    plural: &str,
    file: &Path,
) -> Vec<Vec<String>> {
    let object = object(catalog, plural);
    let code = bulk::export(client, catalog, object, &export_args(file, FileFormat::Csv))
        .await
        .unwrap();
    assert_eq!(code, 0);
    let mut reader = csv::Reader::from_path(file).unwrap();
    let headers = reader.headers().unwrap().clone();
    let keep: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(*h, "createdAt" | "updatedAt"))
        .map(|(i, _)| i)
        .collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            keep.iter().map(|i| r[*i].to_owned()).collect()
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn people_and_companies_survive_an_export_import_round_trip() {
    let source = sandbox(Seed::Demo, None).await;
    let target = sandbox(Seed::Empty, None).await;
    let (from, to) = (client(&source), client(&target));
    let catalog = catalog();
    let dir = scratch("round-trip");

    for plural in ["companies", "people"] {
        let object = object(&catalog, plural);
        let file = dir.join(format!("{plural}.csv"));
        let before = exported_rows(&from, &catalog, plural, &file).await;
        assert!(!before.is_empty(), "the demo seed has {plural}");
        assert_eq!(
            run_import(&to, &catalog, object, &import_args(&file)).await,
            0
        );
        let after = exported_rows(
            &to,
            &catalog,
            plural,
            &dir.join(format!("{plural}-again.csv")),
        )
        .await;
        assert_eq!(after, before, "{plural} differ after the round trip");
    }
    source.shutdown().await;
    target.shutdown().await;
}

#[tokio::test]
async fn workflow_runs_with_json_fields_survive_a_round_trip_in_both_formats() {
    let sandbox = sandbox(Seed::Demo, None).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let runs = object(&catalog, "workflowRuns");
    let dir = scratch("round-trip-runs");
    // JSON fields of every shape, text with a comma, quotes and a line
    // break, and an enum.
    let shapes = [
        json!({"name": "nested", "status": "COMPLETED",
               "output": {"steps": [{"id": 1, "ok": true}], "note": "a, \"b\"\nc"},
               "context": {"trigger": {"payload": [1, 2.5, null]}}}),
        json!({"name": "a string, quoted \"x\"", "status": "FAILED",
               "output": "just text", "context": [1, "two"]}),
        json!({"name": "scalars", "status": "RUNNING", "output": 42, "context": true}),
    ];
    for shape in shapes {
        client.create_one(runs, shape, None).await.unwrap();
    }
    let original = all(&client, runs).await;
    assert!(original.len() >= 3);

    for format in [FileFormat::Csv, FileFormat::Jsonl] {
        let file = dir.join(format!("runs.{format}"));
        let code = bulk::export(&client, &catalog, runs, &export_args(&file, format))
            .await
            .unwrap();
        assert_eq!(code, 0);
        for record in all(&client, runs).await {
            client
                .delete_one(runs, record["id"].as_str().unwrap())
                .await
                .unwrap();
        }
        assert_eq!(
            run_import(&client, &catalog, runs, &import_args(&file)).await,
            0,
            "{format}"
        );

        let mut again = all(&client, runs).await;
        assert_eq!(again.len(), original.len());
        for (a, b) in again.iter_mut().zip(&original) {
            for key in ["createdAt", "updatedAt"] {
                a.as_object_mut().unwrap().remove(key);
            }
            let mut b = b.clone();
            for key in ["createdAt", "updatedAt"] {
                b.as_object_mut().unwrap().remove(key);
            }
            assert_eq!(*a, b, "{format} round trip");
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_records_under_faults_are_imported_and_exported_exactly_once() {
    let sandbox = sandbox(Seed::Empty, Some(FAULTS)).await;
    let client = client(&sandbox);
    let catalog = catalog();
    let people = object(&catalog, "people");
    let dir = scratch("faults");
    let file = dir.join("people.csv");
    std::fs::write(&file, people_csv(10_000, &[])).unwrap();

    let code = run_import(&client, &catalog, people, &import_args(&file)).await;

    assert_eq!(code, 0);
    let records = all(&client, people).await;
    let emails = tally(&records, "/emails/primaryEmail");
    assert_eq!(records.len(), 10_000, "none lost, none doubled");
    assert_eq!(emails.len(), 10_000);
    assert!((0..10_000).all(|i| emails.get(&format!("p{i}@bulk.test")) == Some(&1)));

    let out = dir.join("export.jsonl");
    let code = bulk::export(
        &client,
        &catalog,
        people,
        &export_args(&out, FileFormat::Jsonl),
    )
    .await
    .unwrap();
    assert_eq!(code, 0);
    let exported: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids = tally(&exported, "/id");
    assert_eq!(exported.len(), 10_000);
    assert_eq!(ids.len(), 10_000, "every record exactly once");
    let held: HashSet<&str> = records.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.keys().all(|id| held.contains(id.as_str())));
    sandbox.shutdown().await;
}
