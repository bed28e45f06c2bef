import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cleanText, detectLanguage, preprocess } from "../../../services/preprocessor/clean.ts";

type Case = readonly [name: string, input: string, expected: string];

function table(cases: readonly Case[]): void {
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(cleanText(input), expected, `input ${JSON.stringify(input)}`));
  }
}

describe("cleanText: URLs and e-mail addresses", () => {
  table([
    ["https with path and query", "see https://example.com/a/b?c=1&d=2#frag now", "see now"],
    ["http, sentence dot kept", "docs: http://example.org/docs.", "docs: ."],
    ["ftp", "mirror ftp://ftp.debian.org/debian/ is fast", "mirror is fast"],
    ["tg:// link", "open tg://resolve?domain=durov here", "open here"],
    ["www. without scheme", "go to www.example.co.uk/page, then", "go to , then"],
    ["t.me link", "join t.me/durov please", "join please"],
    ["telegram.me link", "telegram.me/joinchat/AAAAAEw3 invite", "invite"],
    ["bare domain with path", "example.com/path/x is down", "is down"],
    ["short link with a country TLD", "watch youtu.be/dQw4w9WgXcQ lol", "watch lol"],
    ["bare domain", "ask on ubuntuforums.org or google.com.", "ask on or ."],
    ["domain with port", "proxy at example.net:8080/x ok", "proxy at ok"],
    ["internationalised domain", "сайт пример.рф/страница тут", "сайт тут"],
    ["parenthesised URL with parentheses", "(see https://en.wikipedia.org/wiki/Foo_(bar))", "(see )"],
    ["full-width URL (after NFKC)", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／ｘ link", "link"],
    ["e-mail address", "mail john.doe+tag@mail.example.co.uk today", "mail today"],
    ["mailto", "mailto:someone@example.com", ""],
  ]);

  it("keeps what only looks like a URL", () => {
    const keep = [
      "e.g. i.e. a.m. U.S. etc.",
      "pi is 3.14, version v2.0.1, ip 192.168.0.1",
      "edit xorg.conf, menu.lst, sources.list and setup.py",
      "libc.so.6 file.txt archive.zip movie.mov README.md Makefile.am",
      "node.js Vue.js ASP.NET",
      "/etc/apt/sources.list ~/.bashrc /etc/cron.daily/ sources.list.d/",
      "root@localhost @durov #linux #openoffice.org",
      "end of sentence.Next one",
    ];
    for (const s of keep) assert.equal(cleanText(s), s);
  });
});

describe("cleanText: emoji", () => {
  table([
    ["ZWJ family sequence", "👨‍👩‍👧‍👦 family", "family"],
    ["ZWJ profession sequence", "👩🏽‍💻 coding", "coding"],
    ["flags (regional indicators)", "🇺🇦 🇩🇪 flags", "flags"],
    ["subdivision flag (tag characters)", "🏴󠁧󠁢󠁥󠁮󠁧󠁿 England", "England"],
    ["skin-tone modifier", "👍🏽 agreed", "agreed"],
    ["keycap sequences", "1️⃣ first #️⃣ tag *️⃣", "first tag"],
    ["emoji with variation selector", "❤️ love ☺️ ✔️ done", "love done"],
    ["text-presentation pictographs", "☺ ♥ ✈ trip", "trip"],
    ["emoji between words", "hello😀world", "hello world"],
    ["trade mark and copyright signs", "Windows™ ©2020 ®", "Windows 2020"],
    ["newer emoji", "🫠 melting 🪿 goose", "melting goose"],
  ]);
});

describe("cleanText: scripts survive", () => {
  const intact = [
    ["Cyrillic", "Привет, мир!"],
    ["CJK", "你好世界"],
    ["Arabic", "مرحبا بالعالم"],
    ["Arabic with harakat", "مَرْحَبًا"],
    ["Hindi with matras and a conjunct", "नमस्ते, आप कैसे हैं? क्षत्रिय"],
    ["accented Latin", "Crème brûlée à Zürich"],
    ["Hebrew with niqqud", "שָׁלוֹם עוֹלָם"],
    ["Japanese", "こんにちは、世界。"],
    ["Korean", "안녕하세요 여러분"],
    ["Thai with vowel marks", "สวัสดีครับ"],
    ["Vietnamese", "Tiếng Việt có dấu"],
    ["Greek", "Καλημέρα κόσμε"],
    ["Turkish", "Günaydın, nasılsınız?"],
  ] as const;
  for (const [name, text] of intact) {
    it(name, () => {
      assert.equal(cleanText(text), text.normalize("NFKC"));
      assert.equal(cleanText(text), text); // these are NFKC already
    });
  }

  table([
    ["decomposed accents are composed (NFKC)", "Cre\u0300me bru\u0302le\u0301e", "Crème brûlée"],
    ["ZWNJ inside a Persian word is removed, word kept whole", "می\u200Cخواهم", "میخواهم"],
  ]);
});

describe("cleanText: NFKC, special characters, whitespace", () => {
  table([
    ["full-width letters and digits", "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３！", "Fullwidth ABC 123!"],
    ["ligatures, ellipsis, circled and superscript digits", "ﬁle … ① x²", "file ... 1 x2"],
    ["whitespace: NBSP, newlines, tabs, line separator, ideographic space", " a\u00A0b\n\nc\t d\u2028e \u3000f ", "a b c d e f"],
    ["zero-width space, soft hyphen, BOM, bidi marks", "\uFEFFpass\u200Bword co\u00ADoperate \u200Fok\u200E", "password cooperate ok"],
    ["control characters", "a\u0000b\u0007c\u001b[0m", "a b c [0m"],
    ["symbols, box drawing, arrows, stars, bullets", "★★★ BEST ★★★ → ═══ • item ▶ ✓", "BEST item"],
    ["private-use characters", "apple \uF8FF logo", "apple logo"],
    [
      "meaningful punctuation kept",
      "C++ 50% $5 €3 x >= 3 don't «цитата» ¿qué? ¡sí! (a) [b] {c} a/b a&b #tag @user",
      "C++ 50% $5 €3 x >= 3 don't «цитата» ¿qué? ¡sí! (a) [b] {c} a/b a&b #tag @user",
    ],
    [
      "code-ish text kept",
      "LD_LIBRARY_PATH=/usr/lib sudo apt-get install -y foo | grep bar",
      "LD_LIBRARY_PATH=/usr/lib sudo apt-get install -y foo | grep bar",
    ],
    ["CJK and Arabic punctuation kept (full-width ？ becomes ? under NFKC)", "好的。你呢？ نعم، لماذا؟", "好的。你呢? نعم، لماذا؟"],
    ["long punctuation runs shortened to three", "wow!!!!!!!! what?????? ....... ok", "wow!!! what??? ... ok"],
    ["orphan combining marks dropped", "\u0301abc ´ 😀\u0308 x", "abc x"],
  ]);
});

describe("preprocess", () => {
  it("returns null when nothing is left", () => {
    const empty = [
      "",
      "   \n\t ",
      "😀😂🎉",
      "👍🏽",
      "🇺🇦",
      "https://example.com/some/path",
      "www.example.com",
      "t.me/durov",
      "...!!!???",
      ":-) ;-) >.<",
      "★☆ ═══ →",
      "=============",
      "\u200B\u200D\uFEFF",
      "https://example.com 🎉 !!",
    ];
    for (const t of empty) assert.equal(preprocess(t), null, JSON.stringify(t));
  });

  it("keeps short messages that have a letter or a digit", () => {
    assert.deepEqual(preprocess("+1"), { clean_text: "+1", lang: "und" });
    assert.deepEqual(preprocess("42"), { clean_text: "42", lang: "und" });
    assert.deepEqual(preprocess("ok 👍"), { clean_text: "ok", lang: "und" });
  });

  it("returns the cleaned text and its language", () => {
    assert.deepEqual(preprocess("Привет, мир! 🎉 https://example.com Как у вас дела? Что нового?"), {
      clean_text: "Привет, мир! Как у вас дела? Что нового?",
      lang: "ru",
    });
  });
});

describe("detectLanguage", () => {
  const sentences: ReadonlyArray<readonly [string, string]> = [
    ["en", "does anyone know how to fix the wifi driver after the update?"],
    ["ru", "кто-нибудь знает, как починить вайфай после обновления?"],
    ["uk", "хтось знає, як полагодити вайфай після оновлення?"],
    ["de", "weiß jemand, wie man das WLAN nach dem Update repariert?"],
    ["fr", "quelqu'un sait comment réparer le wifi après la mise à jour ?"],
    ["es", "¿alguien sabe cómo arreglar el wifi después de la actualización?"],
    ["it", "qualcuno sa come sistemare il wifi dopo l'aggiornamento?"],
    ["pt", "alguém sabe como consertar o wifi depois da atualização?"],
    ["zh", "有人知道更新以后怎么修无线网吗？"],
    ["ja", "アップデートの後でWi-Fiを直す方法を誰か知っていますか？"],
    ["ko", "업데이트 후에 와이파이를 고치는 방법을 아는 사람 있어요?"],
    ["ar", "هل يعرف أحد كيف يصلح الواي فاي بعد التحديث؟"],
    ["he", "מישהו יודע איך לתקן את הוויפי אחרי העדכון?"],
    ["hi", "क्या किसी को पता है कि अपडेट के बाद वाईफाई कैसे ठीक करें?"],
    ["tr", "güncellemeden sonra wifi nasıl düzeltilir bilen var mı?"],
    ["el", "ξέρει κανείς πώς να φτιάξει το wifi μετά την ενημέρωση;"],
    ["pl", "czy ktoś wie, jak naprawić wifi po aktualizacji?"],
    ["nl", "weet iemand hoe je de wifi na de update kunt repareren?"],
  ];
  for (const [lang, text] of sentences) {
    it(`${lang}: ${text.slice(0, 30)}…`, () => assert.equal(detectLanguage(cleanText(text)), lang));
  }

  it("tells Russian from Ukrainian by letters the other alphabet lacks", () => {
    assert.equal(detectLanguage("спасибо, у меня всё заработало"), "ru");
    assert.equal(detectLanguage("дякую, у мене все запрацювало"), "uk");
  });

  it('answers "und" (or the obvious language) for short chat lines, not noise', () => {
    const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
      ["ok", ["und"]],
      ["lol", ["und"]],
      ["+1", ["und"]],
      ["k", ["und"]],
      ["thx", ["und"]],
      ["no", ["und"]],
      ["да", ["und"]],
      ["ага", ["und"]],
      ["merci", ["und"]],
      ["123 456", ["und"]],
      ["...", ["und"]],
      ["", ["und"]],
      ["好", ["und"]],
      ["好的", ["zh"]],
      ["שלום", ["he"]],
      ["ありがとう", ["ja"]],
      ["thanks, that worked", ["en", "und"]],
    ];
    for (const [text, ok] of cases) {
      const got = detectLanguage(text);
      assert.ok(ok.includes(got), `${JSON.stringify(text)} → ${got}, expected one of ${ok.join("/")}`);
    }
  });
});

describe("idempotence", () => {
  it("cleaning a cleaned text changes nothing (fixed inputs)", () => {
    const inputs = [
      "see https://example.com/a?b=1. ok 👍🏽",
      "Ｆｕｌｌｗｉｄｔｈ１２３ ﬁle … ①",
      "e\u200B\u0301 café\u0301 ´ ¨",
      "(see https://en.wikipedia.org/wiki/Foo_(bar))",
      "★★★ BEST ★★★ !!!!!!!!!! ........",
      "नमस्ते, आप कैसे हैं? می\u200Cخواهم",
      "\u0301\u0301abc \u20E3 1\uFE0F",
    ];
    for (const s of inputs) {
      const once = cleanText(s);
      assert.equal(cleanText(once), once, JSON.stringify(s));
    }
  });

  it("cleaning a cleaned text changes nothing (random Unicode)", () => {
    const ranges: ReadonlyArray<readonly [number, number]> = [
      [0x00, 0x7f],
      [0x80, 0x2ff],
      [0x300, 0x36f],
      [0x400, 0x4ff],
      [0x590, 0x6ff],
      [0x900, 0x97f],
      [0x2000, 0x206f],
      [0x20d0, 0x20ff],
      [0x2100, 0x2bff],
      [0x3000, 0x30ff],
      [0x4e00, 0x4e80],
      [0xd800, 0xdfff],
      [0xe000, 0xe00f],
      [0xfb00, 0xfdff],
      [0xfe00, 0xfe6f],
      [0xff00, 0xffef],
      [0x1f000, 0x1faff],
      [0xe0000, 0xe01ef],
      [0x1d400, 0x1d7ff],
    ];
    const extras = [" ", ".", "a", "é", "http://x.com/", "a@b.co", "\u200D", "\uFE0F", "1", "!!!!"];
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    for (let i = 0; i < 50000; i++) {
      let s = "";
      const len = 1 + Math.floor(rnd() * 12);
      for (let j = 0; j < len; j++) {
        const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)]!;
        const cp = lo + Math.floor(rnd() * (hi - lo + 1));
        s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        if (rnd() < 0.2) s += extras[Math.floor(rnd() * extras.length)];
      }
      const once = cleanText(s);
      assert.equal(cleanText(once), once, JSON.stringify(s));
      assert.equal(once, once.normalize("NFKC"), JSON.stringify(s));
    }
  });
});
