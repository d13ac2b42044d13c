using System.Text.Json;

namespace MultiLora.Serve.Api;

/// <summary>
/// Reads a /v1/chat/completions body field by field, as OpenAI's API defines it, so that a wrong value is refused
/// with the path of the field ("messages[1].content[0].text: expected a string, got a number"). Fields that would
/// change the answer in ways this server does not implement (tools, logprobs, penalties, n &gt; 1, JSON mode) are
/// refused rather than ignored; the rest of OpenAI's optional fields (user, metadata, store, ...) are accepted.
/// </summary>
public static class ChatRequestParser
{
    public const int MaxStopStrings = 4;
    static readonly string[] Roles = ["system", "developer", "user", "assistant"];

    public static ChatRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new ApiException(400, $"the request body must be a JSON object, got {Kind(root)}");

        string model = RequiredString(root, "model");
        var messages = Messages(root);
        RefuseUnsupported(root);

        int? maxCompletion = OptionalInt(root, "max_completion_tokens", min: 1);
        int? maxTokens = OptionalInt(root, "max_tokens", min: 1);
        int? n = OptionalInt(root, "n", min: 1);
        if (n is > 1) throw ApiException.BadRequest("n", $"only n=1 is supported, got {n}");
        double temperature = OptionalNumber(root, "temperature", 0, 2) ?? 1.0;
        double topP = OptionalNumber(root, "top_p", 0, 1) ?? 1.0;
        if (topP <= 0) throw ApiException.BadRequest("top_p", "must be greater than 0");
        long? seed = OptionalLong(root, "seed");
        bool stream = OptionalBool(root, "stream") ?? false;
        bool includeUsage = false;
        if (Field(root, "stream_options") is { } options)
        {
            if (options.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("stream_options", $"expected an object, got {Kind(options)}");
            if (!stream) throw ApiException.BadRequest("stream_options", "only allowed when stream is true");
            includeUsage = OptionalBool(options, "include_usage", "stream_options.include_usage") ?? false;
        }
        bool returnTokenIds = OptionalBool(root, "return_token_ids") ?? false;
        bool ignoreEos = OptionalBool(root, "ignore_eos") ?? false;

        return new ChatRequest(model, messages, maxCompletion ?? maxTokens, maxCompletion is not null ? "max_completion_tokens" : "max_tokens",
            temperature, topP, seed, Stops(root), stream, includeUsage, returnTokenIds, ignoreEos);
    }

    static List<ChatMessage> Messages(JsonElement root)
    {
        var array = Field(root, "messages") ?? throw ApiException.BadRequest("messages", "required");
        if (array.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("messages", $"expected an array of messages, got {Kind(array)}");
        if (array.GetArrayLength() == 0) throw ApiException.BadRequest("messages", "must hold at least one message");
        var messages = new List<ChatMessage>();
        int i = 0;
        foreach (var m in array.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest(at, $"expected a message object, got {Kind(m)}");
            string role = RequiredString(m, "role", $"{at}.role");
            if (!Roles.Contains(role))
                throw ApiException.BadRequest($"{at}.role", $"'{role}' is not supported (system, developer, user, assistant; no tool calls)");
            messages.Add(Message(m, role, at));
        }
        return messages;
    }

    static ChatMessage Message(JsonElement m, string role, string at)
    {
        var content = Field(m, "content") ?? throw ApiException.BadRequest($"{at}.content", "required");
        if (content.ValueKind == JsonValueKind.String) return new ChatMessage(role, content.GetString()!, [], at);
        if (content.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest($"{at}.content", $"expected a string or an array of content parts, got {Kind(content)}");
        var texts = new List<string>();
        var images = new List<ImagePart>();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            string p = $"{at}.content[{j++}]";
            if (part.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest(p, $"expected a content part object, got {Kind(part)}");
            string type = RequiredString(part, "type", $"{p}.type");
            switch (type)
            {
                case "text":
                    texts.Add(RequiredString(part, "text", $"{p}.text"));
                    break;
                case "image_url":
                    if (role != "user") throw ApiException.BadRequest(p, $"images can only be sent in user messages, not {role}");
                    var image = Field(part, "image_url") ?? throw ApiException.BadRequest($"{p}.image_url", "required");
                    images.Add(image.ValueKind == JsonValueKind.String
                        ? new ImagePart(image.GetString()!, $"{p}.image_url")
                        : image.ValueKind == JsonValueKind.Object
                            ? new ImagePart(RequiredString(image, "url", $"{p}.image_url.url"), $"{p}.image_url.url")
                            : throw ApiException.BadRequest($"{p}.image_url", $"expected an object with a url, got {Kind(image)}"));
                    break;
                default:
                    throw ApiException.BadRequest($"{p}.type", $"'{type}' is not supported (text, image_url)");
            }
        }
        return new ChatMessage(role, string.Join("\n", texts), images, at);
    }

    static void RefuseUnsupported(JsonElement root)
    {
        if (Field(root, "tools") is { ValueKind: JsonValueKind.Array } tools && tools.GetArrayLength() > 0)
            throw ApiException.BadRequest("tools", "tool calls are not supported");
        if (Field(root, "functions") is { ValueKind: JsonValueKind.Array } functions && functions.GetArrayLength() > 0)
            throw ApiException.BadRequest("functions", "function calls are not supported");
        if (OptionalBool(root, "logprobs") == true) throw ApiException.BadRequest("logprobs", "log probabilities are not supported");
        foreach (var penalty in new[] { "frequency_penalty", "presence_penalty" })
            if (OptionalNumber(root, penalty, -2, 2) is { } v && v != 0) throw ApiException.BadRequest(penalty, "penalties are not supported (only 0)");
        if (Field(root, "logit_bias") is { ValueKind: JsonValueKind.Object } bias && bias.EnumerateObject().Any())
            throw ApiException.BadRequest("logit_bias", "logit bias is not supported");
        if (Field(root, "response_format") is { ValueKind: JsonValueKind.Object } format
            && Field(format, "type") is { ValueKind: JsonValueKind.String } t && t.GetString() != "text")
            throw ApiException.BadRequest("response_format.type", $"'{t.GetString()}' is not supported (only text)");
    }

    static List<string> Stops(JsonElement root)
    {
        var stop = Field(root, "stop");
        if (stop is null) return [];
        var s = stop.Value;
        List<string> stops = s.ValueKind switch
        {
            JsonValueKind.String => [s.GetString()!],
            JsonValueKind.Array => s.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? e.GetString()!
                : throw ApiException.BadRequest($"stop[{i}]", $"expected a string, got {Kind(e)}")).ToList(),
            _ => throw ApiException.BadRequest("stop", $"expected a string or an array of strings, got {Kind(s)}"),
        };
        if (stops.Count > MaxStopStrings) throw ApiException.BadRequest("stop", $"at most {MaxStopStrings} stop strings, got {stops.Count}");
        if (stops.Any(x => x.Length == 0)) throw ApiException.BadRequest("stop", "stop strings must not be empty");
        return stops;
    }

    /// <summary>The field's value, or null when it is absent or JSON null (OpenAI treats both as "not given").</summary>
    static JsonElement? Field(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static string RequiredString(JsonElement obj, string name, string? param = null)
    {
        param ??= name;
        var v = Field(obj, name) ?? throw ApiException.BadRequest(param, "required");
        if (v.ValueKind != JsonValueKind.String) throw ApiException.BadRequest(param, $"expected a string, got {Kind(v)}");
        var s = v.GetString()!;
        if (s.Length == 0 && name is "model" or "role" or "type" or "url") throw ApiException.BadRequest(param, "must not be empty");
        return s;
    }

    static int? OptionalInt(JsonElement obj, string name, int min)
    {
        if (Field(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i)) throw ApiException.BadRequest(name, $"expected an integer, got {Describe(v)}");
        if (i < min) throw ApiException.BadRequest(name, $"must be at least {min}, got {i}");
        return i;
    }

    static long? OptionalLong(JsonElement obj, string name)
    {
        if (Field(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long i)) throw ApiException.BadRequest(name, $"expected an integer, got {Describe(v)}");
        return i;
    }

    static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (Field(obj, name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number) throw ApiException.BadRequest(name, $"expected a number, got {Kind(v)}");
        double d = v.GetDouble();
        if (d < min || d > max) throw ApiException.BadRequest(name, $"must be between {min} and {max}, got {v.GetRawText()}");
        return d;
    }

    static bool? OptionalBool(JsonElement obj, string name, string? param = null)
    {
        if (Field(obj, name) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest(param ?? name, $"expected a boolean, got {Kind(v)}"),
        };
    }

    static string Describe(JsonElement v) => v.ValueKind == JsonValueKind.Number ? $"{v.GetRawText()}" : Kind(v);

    static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
