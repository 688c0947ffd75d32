import Dom0KitCLI

await Dom0KitMain.run(.suppPack, Array(CommandLine.arguments.dropFirst()))
