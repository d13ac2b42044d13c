using MultiLora.Data.Errors;
using MultiLora.Data.Model;

namespace MultiLora.Data.Pipeline;

/// <summary>A conversation with what the pipeline needs from its dataset: the image root and the on_error policy.</summary>
public sealed record PipelineInput(Conversation Conversation, string? ImageRoot, OnError OnError = OnError.Fail);
