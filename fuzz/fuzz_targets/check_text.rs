#![no_main]
//! Arbitrary text spliced into the skeleton of a real report, so that the fuzzer spends its time
//! inside section location, table reading and the digit solver rather than being refused at
//! decoding.
use libfuzzer_sys::fuzz_target;

const HEAD: &str = "某某区人民政府2021年政府信息公开工作年度报告\n一、总体情况\n";
const T2: &str = "二、主动公开政府信息情况\n第二十条第（一）项\n信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n规章\t";
const T3: &str = "\n三、收到和处理政府信息公开申请情况\n一、本年新收政府信息公开申请数量";
const T4: &str = "\n四、政府信息公开行政复议、行政诉讼情况\n";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Cut the input into three parts on char boundaries and put one in each table.
    let chars: Vec<char> = text.chars().collect();
    let a = chars.len() / 3;
    let b = 2 * chars.len() / 3;
    let part = |r: std::ops::Range<usize>| chars[r].iter().collect::<String>();
    let report = format!(
        "{HEAD}{T2}{}{T3}{}{T4}{}\n五、存在的主要问题及改进情况\n无\n六、其他需要报告的事项\n无\n",
        part(0..a),
        part(a..b),
        part(b..chars.len())
    );
    let _ = gongkai_engine::check(report.as_bytes(), "fuzz.txt");
});
