//! Re-validation of 1,000 archived reports while `gongkai up` (the gateway and every worker) is
//! SIGKILLed in the middle and started again: each report is re-validated exactly once, the
//! batch completes, nothing is dead-lettered. Driven through the `gongkai` commands a person
//! uses, on a vhost and a database of its own.

// Tests may unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod common;

use common::services_available;
use gongkai_queue::testkit::TestVhost;
use gongkai_queue::topology::ready_count;
use gongkai_queue::{Broker, Stage};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REPORTS: usize = 1000;

/// A 2021-format report of `agency` (each agency its own series), written here.
fn report(agency: &str) -> String {
    format!(
        "{agency}2022年政府信息公开工作年度报告\n\
本报告中所列数据统计时限为2022年1月1日至2022年12月31日。 一、总体情况 本机关扎实推进政务公开工作。 \
二、主动公开政府信息情况第二十条第（一）项 信息内容 本年制发件数 本年废止件数 现行有效件数 规章000行政规范性文件8855698\
第二十条第（五）项信息内容本年处理决定数量行政许可10690第二十条第（六）项信息内容本年处理决定数量行政处罚2113行政强制0\
第二十条第（八）项信息内容本年收费金额（单位：万元）行政事业性收费9116.36 \
三、收到和处理政府信息公开申请情况 申请人情况 自然人 法人或其他组织 总计 商业 企业 科研 机构 社会公益组织 法律服务机构 其他 \
一、本年新收政府信息公开申请数量 713000074二、上年结转政府信息公开申请数量 1000001三、本年度办理结果 \
（一）予以公开 210000021（二）部分公开（区分处理的，只计这一情形，不计其他情形） 8100009（三）不予公开 \
1.属于国家秘密00000002.其他法律行政法规禁止公开 00000003.危及“三安全一稳定” 00000004.保护第三方合法权益 0000000\
5.属于三类内部事务信息 10000016.属于四类过程性信息 20000027.属于行政执法案卷 10000018.属于行政查询事项 0000000\
（四）无法提供 1.本机关不掌握相关政府信息 3700000372.没有现成信息需要另行制作 00000003.补正后申请内容仍不明确 0000000\
（五）不予处理 1.信访举报投诉类申请 00000002.重复申请 00000003.要求提供公开出版物 00000004.无正当理由大量反复申请 0000000\
5.要求行政机关确认或重新出具已获取信息 0000000（六）其他处理 \
1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请 2000002\
2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请 00000003.其他 0200002\
（七）总计 723000075四、结转下年度继续办理 0000000 \
四、政府信息公开行政复议、行政诉讼情况行政复议 行政诉讼 结果维持结果纠正其他结果尚未审结总计 未经复议直接起诉 复议后起诉 \
结果维持结果纠正其他结果尚未审结总计结果维持结果纠正其他结果尚未审结总计 0 1 1 0 2 1 0 0 0 1 0 0 0 0 0 \
五、存在的主要问题及改进情况 还存在一些不足。 六、其他需要报告的事项 无。\n"
    )
}

struct Up {
    child: Child,
}

impl Up {
    fn start(vhost: &TestVhost, db: &str, blobs: &std::path::Path, port: u16) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gongkai"))
            .arg("up")
            .env("AMQP_URL", &vhost.url)
            .env("DATABASE_URL", db)
            .env("BLOB_STORE", blobs)
            .env("GRPC_ADDR", format!("127.0.0.1:{port}"))
            .env("METRICS_ADDR", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert!(ready.starts_with("gongkai up: ready"), "{ready:?}");
        Up { child }
    }

    /// SIGKILL: no shutdown, messages in hand unacknowledged.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gongkai(server: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_gongkai"))
        .args(args)
        .args(["--server", server])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gongkai {args:?}: {} {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn batch(server: &str, name: &str) -> serde_json::Value {
    serde_json::from_str(&gongkai(server, &["batch", "show", name, "--json"])).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revalidation_of_a_thousand_reports_survives_a_sigkill_exactly_once() {
    if !services_available() {
        return;
    }
    let vhost = TestVhost::create("cli-revalidate-kill").unwrap();
    let db = gongkai_archive::testing::TestDatabase::new("cli_revalidate_kill");
    let blobs = tempfile::tempdir().unwrap();
    let documents = tempfile::tempdir().unwrap();
    for n in 0..REPORTS {
        std::fs::write(
            documents.path().join(format!("{n:04}.txt")),
            report(&format!("第{n}测试区人民政府")),
        )
        .unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let server = format!("http://127.0.0.1:{port}");
    let up = Up::start(&vhost, db.url(), blobs.path(), port);

    gongkai(
        &server,
        &[
            "submit",
            "--batch",
            "load",
            documents.path().to_str().unwrap(),
        ],
    );
    gongkai(&server, &["batch", "watch", "load"]);
    let loaded = batch(&server, "load");
    assert_eq!(loaded["counts"]["ARCHIVED"], REPORTS, "{loaded}");

    let answer = gongkai(&server, &["revalidate", "--force"]);
    let name = answer
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    assert!(name.starts_with("revalidation-"), "{answer}");
    assert!(answer.contains(&format!("{REPORTS} queued")), "{answer}");

    // Killed in the middle of the re-validation.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = batch(&server, &name)["counts"]["DONE"]
            .as_u64()
            .unwrap_or(0);
        if done >= 100 {
            assert!(done < REPORTS as u64, "the batch finished before the kill");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the re-validation does not progress"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    up.kill();
    let up = Up::start(&vhost, db.url(), blobs.path(), port);
    gongkai(&server, &["batch", "watch", &name]);
    let finished = batch(&server, &name);
    assert_eq!(finished["counts"]["DONE"], REPORTS, "{finished}");
    assert_eq!(finished["failed"], 0, "{finished}");
    assert_eq!(finished["complete"], true, "{finished}");

    // Exactly once: one re-validation event per report, each report once in the batch.
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(db.url())
        .await
        .unwrap();
    let per_report: Vec<i64> = sqlx::query_scalar(
        "SELECT count(e.seq) FROM reports r \
         LEFT JOIN events e ON e.report_id = r.report_id AND e.stage = 'revalidate' \
         GROUP BY r.report_id",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert_eq!(per_report.len(), REPORTS);
    assert!(per_report.iter().all(|n| *n == 1), "{per_report:?}");

    let broker = Broker::connect(&vhost.url, "revalidate-kill-test")
        .await
        .unwrap();
    let channel = broker.channel().await.unwrap();
    for stage in Stage::ALL {
        for queue in [stage.queue(), stage.dead_letter_queue()] {
            assert_eq!(ready_count(&channel, &queue).await.unwrap(), 0, "{queue}");
        }
    }
    drop(up);
}
