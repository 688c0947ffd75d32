import Dom0KitCLI
import Dom0KitDemo

await Dom0KitMain.run(DemoCommand.self, named: "host-prepare demo", Array(CommandLine.arguments.dropFirst()))
