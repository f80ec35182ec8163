"""The contract's enumerations (shared/API.md), with their Chinese names, defined once."""
from __future__ import annotations

CATEGORY_NAMES = {
    "dibao": "低保", "tekun": "特困供养", "temporary_aid": "临时救助", "disability": "残疾人",
    "unsupported_children": "事实无人抚养儿童", "left_behind": "农村留守人员", "elderly_care": "养老服务",
    "social_org": "社会组织", "charity": "慈善", "community": "城乡社区", "customs": "婚丧移风易俗",
    "place_names": "区划地名", "other": "其他",
}
CATEGORIES = tuple(CATEGORY_NAMES)
# Service groups for Open311 and the bulletins' category table.
CATEGORY_GROUPS = {
    "dibao": "社会救助", "tekun": "社会救助", "temporary_aid": "社会救助", "disability": "社会福利",
    "unsupported_children": "儿童福利", "left_behind": "儿童福利", "elderly_care": "养老服务",
    "social_org": "社会组织", "charity": "慈善事业", "community": "基层治理", "customs": "社会事务",
    "place_names": "区划地名", "other": "其他",
}
CHANNEL_NAMES = {"letter": "来信", "visit": "来访", "online": "网上信访", "phone": "来电", "hotline": "热线",
                 "inspection": "巡视", "audit": "审计", "transfer": "转办"}
CHANNELS = tuple(CHANNEL_NAMES)
KIND_NAMES = {"petition": "信访件", "complaint": "群众诉求", "lead": "问题线索", "rectification": "整改事项"}
KINDS = tuple(KIND_NAMES)
