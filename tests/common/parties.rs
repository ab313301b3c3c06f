//! The parties the tests follow, the fixture feeds they publish, and what a
//! reader should find of each fixture in Plenum's output.

use super::fixture_server::FixtureServer;

/// A party as written in `plenum.toml`.
#[derive(Clone, Debug)]
pub struct Party {
    pub id: &'static str,
    pub name: &'static str,
    pub abbreviation: &'static str,
    pub country: &'static str,
    pub languages: &'static [&'static str],
    pub homepage: &'static str,
    /// (source id, URL) pairs.
    pub sources: Vec<(String, String)>,
}

impl Party {
    /// The source id as `poll-once` and `list` print it.
    pub fn source_ref(&self, source: &str) -> String {
        format!("{}/{}", self.id, source)
    }

    pub fn to_toml(&self) -> String {
        let languages = self.languages.iter().map(|l| format!("\"{l}\"")).collect::<Vec<_>>().join(", ");
        let mut out = format!(
            "[[party]]\nid = \"{}\"\nname = \"{}\"\nabbreviation = \"{}\"\ncountry = \"{}\"\nlanguages = [{}]\nhomepage = \"{}\"\n",
            self.id, self.name, self.abbreviation, self.country, languages, self.homepage
        );
        for (id, url) in &self.sources {
            out.push_str(&format!("\n[[party.source]]\nid = \"{id}\"\nkind = \"feed\"\nurl = \"{url}\"\n"));
        }
        out
    }
}

/// The `[daemon]` table every test config starts with: relative paths (so
/// they must resolve against the config file's directory), an ephemeral
/// port, no jitter, and a schedule that will not fire during a test run.
pub const DAEMON_TABLE: &str = r#"[daemon]
data_dir = "data"
output_dir = "public"
listen = "127.0.0.1:0"
base_url = "http://127.0.0.1:8080/"
schedule = "0 0 3 1 1 *"
feed_size = 100
jitter_secs = 0
min_interval_secs = 0
host_gap_ms = 0
"#;

pub fn config_for(parties: &[Party]) -> String {
    let mut out = DAEMON_TABLE.to_string();
    for party in parties {
        out.push('\n');
        out.push_str(&party.to_toml());
    }
    out
}

/// Titles of `rss2-pcp-statements.xml` as a reader must see them: `&amp;`
/// and `&#8220;` decoded, Portuguese accents intact.
pub const PCP_TITLES: [&str; 3] = [
    "Aumento geral dos salários é uma emergência nacional",
    "Trabalhadores & sindicatos: «Não à precariedade!»",
    "Festa do “Avante!” 2027: inscrições abertas para a construção",
];

/// The article links of `rss2-pcp-statements.xml`, in item order.
pub const PCP_LINKS: [&str; 3] = [
    "https://www.pcp.pt/aumento-geral-dos-salarios-emergencia-nacional",
    "https://www.pcp.pt/trabalhadores-sindicatos-nao-precariedade",
    "https://www.pcp.pt/festa-do-avante-2027-jornadas-de-construcao",
];

/// `rss2-pcp-statement-edited.xml` retitles the first item, same guid.
pub const PCP_EDITED_TITLE: &str = "Aumento geral dos salários e das pensões é uma emergência nacional";

/// Titles of `atom-kke.xml` (Greek; one `&amp;`).
pub const KKE_TITLES: [&str; 4] = [
    "Ανακοίνωση του ΚΚΕ για την απεργία της 26ης Νοέμβρη",
    "Συνέντευξη Τύπου του Γενικού Γραμματέα της ΚΕ του ΚΚΕ",
    "Ψήφισμα αλληλεγγύης στους λιμενεργάτες του Πειραιά",
    "«Ριζοσπάστης»: 108 χρόνια & συνεχίζουμε",
];

/// Titles of `jsonfeed-pce.json` (Spanish; one title written with `\u` escapes).
pub const PCE_TITLES: [&str; 2] =
    ["Declaración del Comité Federal: por una vivienda pública, digna y asequible", "Campaña de solidaridad con Cuba — ¡Ni un paso atrás!"];

/// Titles of `rss2-entry-without-id.xml` (French): neither item has a guid,
/// the second has no link either.
pub const PTB_TITLES: [&str; 2] =
    ["Le PTB dépose une proposition de loi pour la pension à 65 ans", "Grève générale du 14 décembre : tous et toutes à Bruxelles"];

pub fn pcp(server: &FixtureServer) -> Party {
    Party {
        id: "pcp",
        name: "Portuguese Communist Party",
        abbreviation: "PCP",
        country: "PT",
        languages: &["pt", "en"],
        homepage: "https://www.pcp.pt",
        sources: vec![("rss".to_string(), server.url("/pcp/statements.xml"))],
    }
}

pub fn kke(server: &FixtureServer) -> Party {
    Party {
        id: "kke",
        name: "Communist Party of Greece",
        abbreviation: "KKE",
        country: "GR",
        languages: &["el", "en"],
        homepage: "https://www.kke.gr",
        sources: vec![("atom".to_string(), server.url("/kke/feed.atom"))],
    }
}

pub fn pce(server: &FixtureServer) -> Party {
    Party {
        id: "pce",
        name: "Communist Party of Spain",
        abbreviation: "PCE",
        country: "ES",
        languages: &["es"],
        homepage: "https://www.pce.es",
        sources: vec![("json".to_string(), server.url("/pce/feed.json"))],
    }
}

pub fn ptb(server: &FixtureServer) -> Party {
    Party {
        id: "ptb",
        name: "Workers' Party of Belgium",
        abbreviation: "PTB",
        country: "BE",
        languages: &["fr", "nl"],
        homepage: "https://www.ptb.be",
        sources: vec![("rss".to_string(), server.url("/ptb/rss.xml"))],
    }
}

/// Serves the PCP (RSS 2.0), KKE (Atom) and PCE (JSON Feed) fixtures, with
/// validators, and returns the three parties.
pub fn serve_three_parties(server: &FixtureServer) -> Vec<Party> {
    server.serve_fixture("/pcp/statements.xml", "rss2-pcp-statements.xml");
    server.serve_fixture("/kke/feed.atom", "atom-kke.xml");
    server.serve_fixture("/pce/feed.json", "jsonfeed-pce.json");
    vec![pcp(server), kke(server), pce(server)]
}

/// Every title the three parties publish, sorted.
pub fn three_party_titles() -> Vec<String> {
    let mut all: Vec<String> = PCP_TITLES.iter().chain(KKE_TITLES.iter()).chain(PCE_TITLES.iter()).map(|t| t.to_string()).collect();
    all.sort();
    all
}

pub fn sorted(titles: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}
