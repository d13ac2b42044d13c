using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MultiLora.Data.Templates;

/// <summary>Reads one template YAML (built in or a user's file); unknown keys and missing fields are errors naming the origin.</summary>
static class TemplateFile
{
    // The YAML shape, snake_case keys; every field must be present so a typo cannot fall back silently.
    sealed class Dto
    {
        public string? Name { get; set; }
        public List<string>? Aliases { get; set; }
        public string? SepStyle { get; set; }
        public string? System { get; set; }
        public List<string>? Roles { get; set; }
        public string? Sep { get; set; }
        public string? Sep2 { get; set; }
        public string? ImagePrefix { get; set; }
    }

    static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    public static ConversationTemplate Parse(string yaml, string origin)
    {
        Dto dto;
        try
        {
            dto = Deserializer.Deserialize<Dto>(yaml) ?? throw new InvalidDataException($"{origin}: empty template");
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{origin}: invalid template YAML at line {e.Start.Line}: {(e.InnerException ?? e).Message}", e);
        }
        T Need<T>(T? value, string key) where T : class => value ?? throw new InvalidDataException($"{origin}: missing key '{key}'");
        var roles = Need(dto.Roles, "roles");
        if (roles.Count != 2) throw new InvalidDataException($"{origin}: 'roles' must list exactly 2 roles (user, assistant), got {roles.Count}");
        var styleName = Need(dto.SepStyle, "sep_style");
        var style = styleName switch
        {
            "single" => SeparatorStyle.Single,
            "two" => SeparatorStyle.Two,
            "mpt" => SeparatorStyle.Mpt,
            "llama_2" => SeparatorStyle.Llama2,
            "plain" => SeparatorStyle.Plain,
            _ => throw new InvalidDataException($"{origin}: sep_style '{styleName}' is not one of single, two, mpt, llama_2, plain"),
        };
        var imagePrefix = Need(dto.ImagePrefix, "image_prefix");
        if (!imagePrefix.Contains(ConversationTemplate.ImageToken, StringComparison.Ordinal))
            throw new InvalidDataException($"{origin}: image_prefix '{imagePrefix}' must contain {ConversationTemplate.ImageToken}");
        return new ConversationTemplate(Need(dto.Name, "name"), dto.Aliases ?? [], style, Need(dto.System, "system"),
                                        roles[0], roles[1], Need(dto.Sep, "sep"), Need(dto.Sep2, "sep2"), imagePrefix);
    }
}
