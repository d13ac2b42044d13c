using MultiLora.Data.Mixing;

namespace MultiLora.Data.Synthetic;

/// <summary>
/// Draws scenes. Two shapes always differ in both kind and colour, so "the red object" or "the circle"
/// names exactly one; shapes are large (a third to a half of the side) so they stay legible at 32 px.
/// </summary>
public static class SceneSampler
{
    public static Scene Sample(SeededRandom random)
    {
        var background = (byte)random.Next(215, 246);
        var textured = random.NextBool();
        var textureSeed = random.Next(int.MaxValue);
        var count = random.Next(1, 3);
        var kinds = SceneVocabulary.Shapes.ToArray();
        var colours = SceneVocabulary.Colours.ToArray();
        random.Shuffle(kinds);
        random.Shuffle(colours);
        if (count == 1)
        {
            var half = 0.26 + random.NextDouble() * 0.06;
            var jitter = 0.5 - half - 0.02;
            return new Scene(background, textured, textureSeed,
                [new SceneShape(kinds[0], colours[0], 0.5 + (random.NextDouble() * 2 - 1) * jitter * 0.5, 0.5 + (random.NextDouble() * 2 - 1) * jitter * 0.5, half, null)]);
        }
        var horizontal = random.NextBool();
        var firstIsStart = random.NextBool();
        var shapes = new List<SceneShape>(2);
        for (var i = 0; i < 2; i++)
        {
            var atStart = (i == 0) == firstIsStart;
            var half = 0.17 + random.NextDouble() * 0.05;
            var along = atStart ? 0.25 : 0.75;
            var across = 0.5 + (random.NextDouble() * 2 - 1) * 0.1;
            var position = horizontal ? (atStart ? ShapePosition.Left : ShapePosition.Right) : (atStart ? ShapePosition.Top : ShapePosition.Bottom);
            shapes.Add(horizontal
                ? new SceneShape(kinds[i], colours[i], along, across, half, position)
                : new SceneShape(kinds[i], colours[i], across, along, half, position));
        }
        return new Scene(background, textured, textureSeed, shapes);
    }
}
