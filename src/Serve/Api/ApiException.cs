using System.Text.Json.Nodes;

namespace MultiLora.Serve.Api;

/// <summary>
/// A request the API refuses, answered in OpenAI's error shape:
/// {"error": {"message", "type", "param", "code"}}. <see cref="Param"/> names the offending field
/// ("messages[0].content[1].image_url.url") so a client can tell what to fix.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string type = ApiException.InvalidRequest, string? code = null)
    : Exception(message)
{
    public const string InvalidRequest = "invalid_request_error";
    public const string ServerError = "server_error";

    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string Type { get; } = type;
    public string? Code { get; } = code;

    public static ApiException BadRequest(string param, string message) => new(400, $"{param}: {message}", param);

    public JsonObject ToJson() => Body(Message, Type, Param, Code);

    public static JsonObject Body(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
    };
}
