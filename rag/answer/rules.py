"""How people ask: the phrasings the question analysis reads, as data (one place, one test each in
tests/test_question.py). Nothing here names a fact of the documents; these are the frames of Chinese
questions -- formal, colloquial and Chongqing/Sichuan dialect -- and the units numbers come in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class Slot(str, Enum):
    """What a question asks for; the evidence must supply it."""
    NUMBER = "number"            # 多少 / 几 / 比重: a quantity (with its unit when the question names one)
    TIME = "time"                # 什么时候 / 哪一年: a year, date or deadline
    LIST = "list"                # 哪些 / 包括什么: several items
    DEFINITION = "definition"    # 是什么意思 / “416”是什么: a term's meaning
    WHY_HOW = "why_how"          # 怎么 / 为什么 / 措施: reasons or measures
    PLACE = "place"              # 在哪里 / 哪个区: a place
    YES_NO = "yes_no"            # 是不是 / 有没有 / …吗: the topic itself
    ENTITY = "entity"            # 哪个 / 什么 / 谁: a name

    @classmethod
    def from_str(cls, s: str) -> "Slot":
        try:
            return cls(s)
        except ValueError:
            raise ValueError(f"unknown slot {s!r}: expected one of {[m.value for m in cls]}") from None


# the names of measured quantities a number question may end in (城镇化率是多少, 产值有多少): the NUMBER slot, and
# question.MEASURE_ASKED, which gives the word back to the noun phrase asked about
MEASURE_WORDS = "率|指数|系数|强度|密度|规模|总量|产值|产量|收入|人数|数量"
# what a list asked by its size is counted in (哪四样, 哪五张, 哪3个): the LIST slot and evidence's ASKED_SIZE
SIZE_CLASSIFIERS = "个项条件家所种类大座样张块篇点位名处批"


def _re(*alts: str) -> re.Pattern:
    return re.compile("|".join(alts))


# measure words and units a number comes with; a question's unit must meet the same class in the evidence
UNIT_CLASSES: dict[str, tuple[str, ...]] = {
    "person": ("人次", "人", "名", "位", "户"),
    "money": ("亿元", "万元", "元", "块钱", "块", "美元", "钱"),
    "percent": ("%", "％", "个百分点", "百分点", "百分之", "成"),
    "length": ("公里", "千米", "米", "km"),
    "area": ("平方公里", "平方米", "万亩", "亩", "公顷"),
    "weight": ("万吨", "吨", "亿公斤", "公斤", "千克", "斤"),
    "power": ("万千瓦", "千瓦", "兆瓦", "瓦", "亿千瓦时", "千瓦时", "度", "mw", "gw", "kw", "kwh", "gwh"),
    "compute": ("eflops", "pflops", "p"),     # 智算规模 15万P: computing power in PFLOPS
    "volume": ("亿立方米", "立方米", "方"),
    "container": ("万标箱", "标箱", "teu"),
    "age": ("岁",),
    "duration": ("小时", "分钟", "天", "个月", "月", "年"),
    "vehicle": ("万辆", "辆", "列", "架次", "架", "艘"),
    # generic classifiers: 个 is answered by any of them (多少个 -> 50家)
    "count": ("个", "家", "所", "座", "条", "项", "件", "处", "批", "张", "台", "套", "间", "床", "部", "支", "栋",
              "片", "种", "类", "只", "对", "层", "级", "倍", "次", "场", "届", "款", "期", "站", "根", "口", "册"),
}
MULTIPLIERS = "十百千万亿"
# every unit word with its class, longest first: 个月 is a duration, not the classifier 个
UNIT_WORDS: tuple[tuple[str, str], ...] = tuple(sorted(((u, c) for c, us in UNIT_CLASSES.items() for u in us),
                                                       key=lambda x: -len(x[0])))


@dataclass(frozen=True)
class QuestionRules:
    """Phrasings, compiled once. ``default_rules()`` is what the product uses."""
    # words said before or after a question that carry nothing (请问, 麻烦问一下, 谢谢, 哈)
    fillers: re.Pattern
    # the slot patterns, tried in this order
    slots: tuple[tuple[Slot, re.Pattern], ...]
    # target vs actual (the time frame's aspect)
    actual: re.Pattern
    target: re.Pattern
    # words of the question frame: how people ask, not what about (never decide anything)
    frame_words: frozenset[str]
    # a token holding one of these is a question word (几条, 多少个, 哪些, 啥子, 咋个, 好多): never a topic
    question_chars: re.Pattern
    # leading characters of a token that only frame the verb after them (要修 -> 修, 能领 -> 领, 会不会)
    modal_prefix: re.Pattern
    # colloquial/dialect words -> the wording of plan documents, when the thesaurus does not know them
    colloquial: dict[str, tuple[str, ...]]
    # forms that name the home region (全市, 咱们重庆) in a question
    home_aliases: tuple[str, ...]
    # a follow-up: starts like one, or is short and ends in 呢
    followup_start: re.Pattern
    # 十五五 / 十四五 (the plan period by its number)
    fyp: re.Pattern
    unit_classes: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(UNIT_CLASSES))
    # "文件里有没有讲？" beside another ask asks nothing of its own: it frames the question
    meta_ask: re.Pattern = re.compile(r"^[^，,]{0,10}?(?:有没有|有没得|有无|是否)(?:讲|说|提|写|明确|涉及|规定|介绍)(?:到|过)?[^，,]{0,3}$|"
                                      r"^[^，,]{0,10}(?:讲|说|提|写)(?:了|到|过)?(?:没有|没得)[^，,]{0,3}$")
    # what a figure is measured in when the question names no unit (总投资是多少 asks money; 增长多少 a rate)
    implied_units: tuple[tuple[str, re.Pattern], ...] = (
        ("money", re.compile(r"金额|投资额|总投资|投资规模|资金|经费|费用|成本|预算|多少钱|花费|造价|收入|营收")),
        ("area", re.compile(r"面积|占地")),
        ("duration", re.compile(r"多长时间|多久|多少时间|几个月|多少个月|多少天")),
        ("length", re.compile(r"里程|长度|多长(?!时间)|多远")),
        ("person", re.compile(r"(?<!千)人数|就业(?!率|质量|环境|结构|政策|服务|帮扶|机制)")),
    )
    # a rate or change asked: then the implied unit is a percent, not the measure's own
    rate_words: re.Pattern = re.compile(r"率|比重|占比|比例|增长|增速|增幅|提高|提升|下降|降|减|涨|升|百分|翻番|倍|强度|密度|系数")
    # the verbs plan documents put before a figure's noun (力争主营业务收入…): they do not qualify the noun
    plan_verbs: frozenset[str] = frozenset(
        "力争 推动 推进 实现 完成 达到 突破 超过 确保 争取 加快 建设 打造 培育 新增 累计 全年 年均 增长 提高 提升 保持 控制 "
        "实施 开展 新建 建成 引进 落地 带动 促进 支持 鼓励 其中 以上 以内 左右 全市 全区 全省 全国 分别".split())

    def vocabulary(self) -> list[str]:
        """The Chinese words the phrasings are made of (什么时候, 为什么, 多少 …): what a typo in a question
        frame is corrected towards (the documents never say them)."""
        words = set(self.frame_words)
        for _, pat in self.slots:
            words |= set(re.findall(r"[\u4e00-\u9fff]{2,}", pat.pattern))
        return sorted(w for w in words if len(w) >= 2)


# 定了 / 订了 as setting a figure (定了多少 asks the target); 评定了, 认定了 … say something was done
SET_VERB = r"(?<![评鉴认审判决])[定订]"


def default_rules() -> QuestionRules:
    return QuestionRules(
        fillers=_re(r"^(?:请问|你好|您好|哈喽|嗨|喂|小助手|助手|麻烦(?:你|您)?(?:问一下|问下|帮我查一下|查一下)?|"
                    r"我想(?:问一?下|问问|知道|了解一?下|请教一?下)|想问(?:一?下)?|请教(?:一?下)?|"
                    r"能不能告诉我|请告诉我|告诉我|帮我查(?:一?下)?|打听一?下)(?:一下|一哈)?[，,、：:\s]*",
                    r"[，,。！!\s]*(?:谢谢(?:你|您|了)?|多谢|感谢|麻烦了|急|在线等)[。！!\s]*$"),
        slots=(
            (Slot.DEFINITION, _re(r"是什么意思|啥意思|啥子意思|什么意思|是指什么|指的?是?(?:什么|啥子?)|含义|涵义|意思是",
                                   r"何谓|什么叫|啥叫|啥子叫|什么是|啥是|解释一?下|是个?(?:什么|啥子?)(?:东西|概念|说法)",
                                   r"[”」』\"].{0,2}(?:是|指)(?:什么|啥子?)")),
            (Slot.WHY_HOW, _re(r"从哪(?:里|儿)?(?:入手|开始|着手|抓起|下手|发力)|从哪些方面|从哪几个方面",   # where to start = how
                               r"(?:哪些|什么|啥子?|哪几[个项条]?|几[个项条])(?:具体|主要|重点|支持|保障|配套|政策)?"
                               r"(?:措施|举措|办法|对策|手段|方式|方法|途径|路径|要求|安排|做法)",       # which measures = how
                               r"(?:依据|原因|理由|考虑|目的|意义|作用|背景|好处|用意)(?:是什么|是啥|有哪些|有啥|在哪)|"
                               r"(?:靠|凭|依靠|依托|凭借)(?:什么|啥子?)(?:来)?(?:支撑|实现|完成|保障|做到|达到)?|"   # 靠什么支撑 = why/how
                               r"(?:哪些|什么|啥子?)(?:考虑|原因|理由|依据)")),                      # the reasons = why
            (Slot.NUMBER, _re(r"分别(?:是|为|有|要|能|达到|定)?(?:多少|几)|各(?:是|为|占|有)?(?:多少|几)")),   # several values
            (Slot.LIST, _re(r"哪些|哪几", rf"哪[0-9二两三四五六七八九十]+(?:[{SIZE_CLASSIFIERS}]|方面)",
                            r"有几[个项条类种大]?.{0,8}(?:分别|是什么|是哪)|都有(?:啥子?|什么|哪)|"
                            r"包括(?:什么|啥子?|哪)|包含(?:什么|啥子?|哪)|分别是(?!如何|怎么|怎样|咋)|分别有|列举|有哪些|有哪几|几大|啥子些|些啥")),
            (Slot.NUMBER, _re(r"多少|(?<![这那前近])好多|(?<![这那前近好十])几[个十百千万亿条家所项座件倍成层台辆列次岁年天户张套处批名位种类块]|"
                              r"多[大高长重快远宽深]|比例|比重|占比|百分之|增速|增幅|增长率|几成|几个百分点|翻几番|"
                              rf"(?:{MEASURE_WORDS})(?:是|为|有|达到|要达到|目标)?(?:多少|几)")),
            (Slot.TIME, _re(r"什么时候|啥时候|啥子时候|哪一年|哪年|何时|几月|哪天|哪一天|哪个月|哪一月|几号|多久|多长时间|好久|啥时|"
                            r"期限|时间表|截止到?哪|什么日子|什么时间")),
            (Slot.PLACE, _re(r"在哪里|在哪儿|在哪|哪里|哪儿|什么地方|啥地方|啥子地方|选址|位于|落户(?:在)?哪|放在哪")),
            (Slot.WHY_HOW, _re(r"为什么|为何|为啥|为啥子|咋个|咋样|咋整|咋办|咋弄|啷个|啷们|怎么|怎样|怎么办|如何|咋|措施|举措|办法|途径|路径|思路|做法")),
            (Slot.YES_NO, _re(r"是不是|是否|有没有|能不能|会不会|要不要|可不可以|算不算|吗[？?！!。\s]*$|没得|不得")),
            # 哪 with any classifier asks which one (哪项指标, 哪种模式, 哪所学校, 哪位)
            (Slot.ENTITY, _re(r"哪个|哪一|哪家|哪座|哪条|哪[项种类所位部支批款门样台艘架颗]|什么|啥子?|谁|叫什么|名称|名字")),
        ),
        actual=_re(r"实际|是否(?:已经?)?(?:实现|完成|达到|达成|兑现)|完成了|做到了|达到了|实现了|取得了|已经|截至|截止|去年|上年|多少了|执行情况|完成情况|"
                   rf"建成了|新增了|增长了|改造了|争取到|(?:干|搞|做)得(?:怎么样|咋样|啷个样|如何|好不好)|(?<!{SET_VERB})[了过](?:多少|几|百分之)|"
                   r"一共.{0,6}了|最后|到底.{0,4}了|(?:现在|目前|现有|已有|已经有).{0,12}(?:多少|几|好多)|回顾|实施了|开展了|推出了|成立了|开通了|通车了|投用了|获批了|落地了|举办了|召开了|引进了|开工了|竣工了|"
                   r"入选了|获评了|获得了|拿了|拿到了|评上了|荣获"),
        target=_re(rf"目标|{SET_VERB}了(?:多少|几|什么|哪)|(?:设置|设定|设立|确定)了?(?:多少|几|什么|哪)|(?:^|年|的|按)计划|计划(?:是|为)?(?:多少|几)|计划(?:要|提出|新建|新增|建设|完成|实现|达到|打造|投资|开工|安排)|打算|要求|力争|预计|"
                   r"争取(?!到)|预期|准备|期望|想让|想要|规划(?:提出|要求|目标)|到(?:19|20)\d{2}\s*年|"
                   r"(?:要|将|会)(?:达到|建成|实现|提高|提升|超过|突破|建|修|新增|完成|控制)|以后|将来|未来"),
        frame_words=frozenset(
            "期间 时期 后来 每年 这里 那里 这儿 此处 这个 那个 这些 那些 数量 数目 个数 提到 准备 打算 要求 具体 方面 名字 现在 目前 以上 平均 做到 多大 保持 叫 叫做 希望 认为 情况 左右 "
            "相关 提出 规划 计划 重点 哪一 一个 哪个 能够 可以 需要 应该 主要 有关 怎么样 怎样 会 能 要 想 该 此 这份 "
            "那份 里 里面 其中 当中 文件 文档 报告 表里 规划里 文件里 报告里 纲要 方案 里头 上面 说 讲 提 写 说的 "
            "咋 咋个 咋样 啷个 啷们 啥 啥子 好多 好久 哪些 哪 几 为啥 为何 是不是 有没有 能不能 会不会 吗 呢 嘛 吧 啊 "
            "呀 哦 噻 撒 嘞 咯 哈 么 弄 搞 整 办 做 干 下 些 点 个 事 事情 东西 问题 情况 第一 第二 第三 第四 第五 第几 "
            "我们 咱们 俺们 老百姓 大家 市民 群众 我 你 他 她 它 人家 一下 一些 这个 那个 这些 那些 这样 那样 "
            "以后 将来 未来 今后 现在 目前 最近 到底 究竟 大概 大约 具体 主要 一般 到时候 能否 是否 多少 怎么 如何 "
            "起来 出来 下来 上去 进去 一点 一样 那么 这么 还是 或者 以及 而且 但是 因为 所以 如果 的话 听说 据说 知道 "
            "了解 请问 告诉 问问 打听 关心 关注 觉得 感觉 记得 发现 看到 看看 说说 讲讲 介绍 一共 总共 到底 又 再 "
            "最后 最终 硬是 究竟 到底是 真的 真正 实际上 其实 分别 各自 各 定 定的 定了 "
            "目标 实际 结果 执行结果 实际结果 完成情况 意思 含义 涵义 不能 不可以 可不可以 自己 到处 家里 屋头 比较 方便 一下子 问下 还有 有人 "
            "能否 可否 有没得 没得 整到 搞到 弄到 达到 提到 打到 你好 您好 谢谢 多谢 哈喽 在吗 在不在 请 帮忙 "
            "目标值 数值 数据 数字 指标值 具体数 基数 基期 现状值 明确 内容 概念 说法 "
            "措施 举措 办法 对策 依据 原因 理由 用意 部分 一年 哪一年 哪年 采取 采用 采取了 "
            "时候 全年 今年 去年 当年 本年 上年 全年度 列出 列了 列明 列入 列有".split()),   # 全年旅游收入: the year asked, not the topic (H10A168)
        question_chars=_re(r"几|多少|哪|什么|怎|吗|呢|么|啥|咋|啷|谁|好多|好久|多[长久大高远重宽深快]|为何|何时|是否|有没有|能不能|会不会"),
        modal_prefix=_re(r"^(?:要|能|会|想|该|可|将|把|被|给|让|去|来|都|就|还|也|又|才|再|已|在)"),
        colloquial={
            "娃儿": ("儿童", "子女"), "娃娃": ("儿童",), "小娃": ("儿童",), "带娃": ("育儿", "托育"), "生娃": ("生育",),
            "看病": ("就医", "医疗"), "看病难": ("就医",), "上学": ("教育", "入学"), "读书": ("教育",),
            "钱包": ("收入",), "挣钱": ("收入", "增收"), "找工作": ("就业",), "上班族": ("职工",),
            "老年人": ("老年人", "养老"), "老人": ("老年人", "养老"), "养老院": ("养老机构",), "房子": ("住房",),
            "修路": ("公路", "道路"), "堵车": ("拥堵", "交通"), "地铁": ("轨道交通",), "高铁": ("铁路", "高铁"),
            "gdp": ("地区生产总值",), "年轻人": ("青年",), "城里人": ("城镇居民",), "农村人": ("农村居民",),
            "外贸": ("进出口",), "耍": ("旅游", "休闲"), "好耍": ("旅游",), "巴适": (), "安逸": (),
        },
        home_aliases=("全市", "全重庆", "咱们重庆", "我们重庆", "我市", "本市", "市里", "市级", "重庆全市"),
        followup_start=_re(r"^(?:那|那么|它|其|这|该|此|上述|还有|另外|再|具体|然后|那个|这个|比|相比|较|差了?多少|相差)"),
        # 十四五/十五五 need no quotes or 规划 after them ("綦江十四五那几年"); shorter ones do (三五成群)
        fyp=_re(r"([一二三四五六七八九十]{1,3})五(?=规划|时期|期间|末|初|时|的|年|目标|计划|以来|[”」』\"\s，,。？?、]|$|"
                r"(?<=十[一二三四五六七八九]五)(?![个万亿千百成分倍人元米家项条座所岁号]))"),
    )
