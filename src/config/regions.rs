//! Built-in regions (GB/T 2260 codes): every region named in `shared/specs/receipt.md` §2–3,
//! with the (document, region) pairs that source lists as accepting a photo receipt.

use super::{DocumentId as D, Region, RegionCode};
use std::collections::BTreeMap;

fn region(code: &str, zh: &str, en: &str, docs: &[D], validity: &[(D, u32)]) -> (RegionCode, Region) {
    (
        RegionCode::new(code).expect("built-in region codes are valid"),
        Region {
            name_zh: zh.into(),
            name_en: en.into(),
            documents: docs.to_vec(),
            validity_days: validity.iter().copied().collect(),
            overrides: BTreeMap::new(),
            print_name: false,
            receipt: BTreeMap::new(),
            consent: None,
            review_centre: None,
            enquiry_phone: None,
        },
    )
}

fn with_centre((code, mut r): (RegionCode, Region), centre: &str) -> (RegionCode, Region) {
    r.review_centre = Some(centre.into());
    (code, r)
}

pub fn builtin_regions() -> BTreeMap<RegionCode, Region> {
    use D::*;
    let gd = [IdCard, ExitEntry, ResidencePermit, SocialSecurity, DrivingLicence];
    [
        // receipt.md §1 names Guangdong's centre.
        with_centre(
            region("440000", "广东省", "Guangdong", &gd, &[]),
            "广东省证件用数字相片采集服务中心",
        ),
        // Guangzhou keeps ID-card photos 180 days, Shenzhen 6 months (receipt.md §3).
        region("440100", "广州市", "Guangzhou", &gd, &[(IdCard, 180)]),
        region("440300", "深圳市", "Shenzhen", &gd, &[(IdCard, 183)]),
        region("460000", "海南省", "Hainan", &[IdCard], &[]),
        region("460100", "海口市", "Haikou", &[IdCard, ResidencePermit], &[]),
        region("430000", "湖南省", "Hunan", &[IdCard], &[]),
        region("520000", "贵州省", "Guizhou", &[IdCard, ExitEntry], &[]),
        region("630000", "青海省", "Qinghai", &[IdCard, ExitEntry], &[]),
        region("340000", "安徽省", "Anhui", &[IdCard], &[]),
        region("360400", "九江市", "Jiujiang", &[IdCard], &[]),
        region("360700", "赣州市", "Ganzhou", &[IdCard], &[]),
        region("210100", "沈阳市", "Shenyang", &[IdCard], &[]),
        region("211300", "朝阳市", "Chaoyang", &[IdCard], &[]),
        region("211000", "辽阳市", "Liaoyang", &[IdCard], &[]),
        region("210700", "锦州市", "Jinzhou", &[IdCard], &[]),
        region("500000", "重庆市", "Chongqing", &[ExitEntry], &[]),
        region("530000", "云南省", "Yunnan", &[ExitEntry], &[]),
        region("510000", "四川省", "Sichuan", &[ExitEntry], &[]),
        region("450000", "广西壮族自治区", "Guangxi", &[ExitEntry], &[]),
    ]
    .into_iter()
    .collect()
}

/// The province-level divisions of GB/T 2260 (Chinese, English), to head a group of
/// cities on the region screen when the province itself is not a configured region.
pub fn province_name(code: &RegionCode) -> Option<(&'static str, &'static str)> {
    const P: &[(&str, &str, &str)] = &[
        ("110000", "北京市", "Beijing"),
        ("120000", "天津市", "Tianjin"),
        ("130000", "河北省", "Hebei"),
        ("140000", "山西省", "Shanxi"),
        ("150000", "内蒙古自治区", "Inner Mongolia"),
        ("210000", "辽宁省", "Liaoning"),
        ("220000", "吉林省", "Jilin"),
        ("230000", "黑龙江省", "Heilongjiang"),
        ("310000", "上海市", "Shanghai"),
        ("320000", "江苏省", "Jiangsu"),
        ("330000", "浙江省", "Zhejiang"),
        ("340000", "安徽省", "Anhui"),
        ("350000", "福建省", "Fujian"),
        ("360000", "江西省", "Jiangxi"),
        ("370000", "山东省", "Shandong"),
        ("410000", "河南省", "Henan"),
        ("420000", "湖北省", "Hubei"),
        ("430000", "湖南省", "Hunan"),
        ("440000", "广东省", "Guangdong"),
        ("450000", "广西壮族自治区", "Guangxi"),
        ("460000", "海南省", "Hainan"),
        ("500000", "重庆市", "Chongqing"),
        ("510000", "四川省", "Sichuan"),
        ("520000", "贵州省", "Guizhou"),
        ("530000", "云南省", "Yunnan"),
        ("540000", "西藏自治区", "Tibet"),
        ("610000", "陕西省", "Shaanxi"),
        ("620000", "甘肃省", "Gansu"),
        ("630000", "青海省", "Qinghai"),
        ("640000", "宁夏回族自治区", "Ningxia"),
        ("650000", "新疆维吾尔自治区", "Xinjiang"),
        ("710000", "台湾省", "Taiwan"),
        ("810000", "香港特别行政区", "Hong Kong"),
        ("820000", "澳门特别行政区", "Macao"),
    ];
    P.iter()
        .find(|(c, _, _)| *c == code.as_str())
        .map(|(_, zh, en)| (*zh, *en))
}
