// Runs Croct's own JavaScript SDK (@croct/sdk) against a Croct API root and prints
// what the SDK made of each answer, as JSON on stdout.
// Input (argv[2]): {"sdkDir", "baseUrl", "apiKey", "scenario", "args"}.
import {pathToFileURL} from 'node:url';
import {join} from 'node:path';

const input = JSON.parse(process.argv[2]);
const sdk = (name) => import(pathToFileURL(join(input.sdkDir, 'node_modules/@croct/sdk', name)).href);

const {ContentFetcher} = await sdk('contentFetcher.js');
const {Evaluator} = await sdk('evaluator.js');
const {Token} = await sdk('token/token.js');
const {ApiKey} = await sdk('apiKey.js');
const {CLIENT_LIBRARY} = await sdk('constants.js');

// The SDK's documented way to point at another API root.
const config = {apiKey: input.apiKey, baseEndpointUrl: input.baseUrl};

async function settle(promise) {
    try {
        return {ok: true, value: await promise};
    } catch (error) {
        // ContentError / EvaluationError carry the parsed problem in `response`.
        return {ok: false, name: error.constructor.name, response: error.response ?? String(error)};
    }
}

async function userToken(args) {
    const token = Token.issue(args.appId, args.subject ?? null, args.issuedAt);
    if (!args.sign) {
        return token;
    }
    return token.signedWith(ApiKey.parse(input.apiKey));
}

async function verifyPythonToken(args) {
    // Parse the console's token with the SDK and check its signature with WebCrypto.
    const token = Token.parse(args.token);
    const apiKey = ApiKey.parse(input.apiKey);
    const key = await crypto.subtle.importKey(
        'spki', Buffer.from(args.publicKey, 'base64'), {name: 'ECDSA', namedCurve: 'P-256'},
        false, ['verify'],
    );
    const [header, payload, signature] = args.token.split('.');
    const valid = await crypto.subtle.verify(
        {name: 'ECDSA', hash: 'SHA-256'}, key, Buffer.from(signature, 'base64url'),
        new TextEncoder().encode(`${header}.${payload}`),
    );
    return {
        valid,
        signed: token.isSigned(),
        kidMatches: await token.matchesKeyId(apiKey),
        headers: token.getHeaders(),
        payload: token.getPayload(),
    };
}

const scenarios = {
    library: async () => ({ok: true, value: CLIENT_LIBRARY}),
    content: (args) => settle(new ContentFetcher(config).fetch(args.slotId, args.options)),
    contentAsUser: async (args) => settle(new ContentFetcher(config).fetch(
        args.slotId, {...args.options, userToken: await userToken(args.token)},
    )),
    evaluate: (args) => settle(new Evaluator(config).evaluate(args.query, args.options)),
    evaluateAsUser: async (args) => settle(new Evaluator(config).evaluate(
        args.query, {...args.options, userToken: await userToken(args.token)},
    )),
    sdkToken: async (args) => ({ok: true, value: (await userToken(args)).toString()}),
    verifyPythonToken: async (args) => ({ok: true, value: await verifyPythonToken(args)}),
};

const result = await scenarios[input.scenario](input.args ?? {});
process.stdout.write(JSON.stringify(result));
