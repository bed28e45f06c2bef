/** The API's validation messages, as the CLI shows them: the names a person typed, plain phrases. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cliError, inCliWords } from "../../cli/errors.ts";
import { TglensError } from "../../services/common/errors.ts";

describe("CLI error words", () => {
  for (const [api, cli] of [
    ["querystring.q must NOT have fewer than 1 characters", "the query is empty"],
    ["querystring.q is required", "the query is missing"],
    ["querystring.q must NOT have more than 2000 characters", "the query is too long (at most 2000 characters)"],
    ["querystring.sender must NOT have fewer than 1 characters", "--sender is empty"],
    ['querystring.chat must match pattern "^-?[0-9]{1,20}$"', "--chat is not valid"],
    ["querystring.k must be <= 100", "--k must be at most 100"],
    ["querystring.mode must be equal to one of the allowed values", "--mode is not one of the choices"],
    [
      'querystring.to is not a real date: "2005-02-30" (February 2005 has 28 days)',
      '--to is not a real date: "2005-02-30" (February 2005 has 28 days)',
    ],
    ["body.limit must be an integer >= 1, got 0", "--limit must be an integer >= 1, got 0"],
    ['body.chat is not a username (got "@a")', 'the chat is not a username (got "@a")'],
    ['params.id must match pattern "^-?[0-9]{1,20}$"', "the chat id is not valid"],
    ["no chat 777", "no chat 777"],
    ["querystring.unknown must be integer", "querystring.unknown must be integer"],
  ] as const) {
    it(`says ${JSON.stringify(api)} as ${JSON.stringify(cli)}`, () => assert.equal(inCliWords(api), cli));
  }

  it("keeps the code of the error it rewords", () => {
    const err = cliError(new TglensError("TGLENS_BAD_REQUEST", "querystring.q must NOT have fewer than 1 characters")) as TglensError;
    assert.deepEqual([err.code, err.message], ["TGLENS_BAD_REQUEST", "the query is empty"]);
    const other = new Error("boom");
    assert.equal(cliError(other), other);
  });
});
