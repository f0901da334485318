// The Android library on its own; an app includes it with
// includeBuild("path/to/fieldproof/android") or publishes it to its Maven repository.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "fieldproof-android"
