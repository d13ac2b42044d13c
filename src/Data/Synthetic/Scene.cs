namespace MultiLora.Data.Synthetic;

/// <summary>One shape: kind, colour, centre and half-size as fractions of the image side, and its position word when there are two.</summary>
public sealed record SceneShape(ShapeKind Kind, ShapeColour Colour, double CenterX, double CenterY, double HalfSize, ShapePosition? Position)
{
    public string Name => $"{SceneVocabulary.Word(Colour)} {SceneVocabulary.Word(Kind)}";
}

/// <summary>A synthetic picture: a light background (plain or lightly textured) and one or two shapes.</summary>
public sealed record Scene(byte BackgroundLevel, bool Textured, int TextureSeed, IReadOnlyList<SceneShape> Shapes)
{
    public bool Contains(ShapeKind kind, ShapeColour colour) => Shapes.Any(s => s.Kind == kind && s.Colour == colour);
}
