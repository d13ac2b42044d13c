using MultiLora.Data.Model;
using MultiLora.Serve.Engine;

namespace MultiLora.Serve.Api;

/// <summary>The model input of a chat request: prompt ids (image placeholders expanded) and the image part, if any.</summary>
public sealed record PreparedPrompt(int[] Ids, ImagePart? Image);

/// <summary>
/// Turns OpenAI messages into the model's prompt through the session's own template, as `multilora generate` and
/// `chat` do: system (or developer) first, then alternating user/assistant turns, ending with the user's message.
/// LLaVA conditions on one image per conversation, placed where the template puts it.
/// </summary>
public static class PromptAssembler
{
    public const int MaxImages = 1;

    public static PreparedPrompt Prepare(ChatRequest request, BatchScheduler scheduler)
    {
        var images = request.Messages.SelectMany(m => m.Images).ToList();
        if (images.Count > MaxImages)
            throw ApiException.BadRequest("messages", $"too many images: {images.Count} image_url parts, but the model takes {MaxImages} image per conversation");
        var last = request.Messages[^1];
        if (last.Role != "user")
            throw ApiException.BadRequest($"{last.Param}.role", $"the last message must be the user's (the model answers it), got {last.Role}");
        var history = request.Messages.Take(request.Messages.Count - 1).Select(m => new Turn(Speaker(m.Role), m.Text)).ToList();
        try
        {
            var ids = scheduler.WithTokenizer(session => session.PromptIds(session.Prompt(history, last.Text, images.Count > 0)));
            return new PreparedPrompt(ids, images.Count > 0 ? images[0] : null);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw ApiException.BadRequest("messages", e.Message);
        }
    }

    static Speaker Speaker(string role) => role switch
    {
        "system" or "developer" => Data.Model.Speaker.System,
        "assistant" => Data.Model.Speaker.Gpt,
        _ => Data.Model.Speaker.Human,
    };
}
