struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn put(&mut self, key: String, value: Vec<u8>) -> u32 {
        (key.len() + value.len()) as u32
    }

    fn log(&mut self, line: &String) {
        let _ = line;
    }

    fn sum(&mut self, words: &std::vec::Vec<u32>) -> u32 {
        words.iter().sum()
    }

    async fn fill(&mut self, buf: &mut Vec<u8>) {
        buf.clear();
    }
}

fn main() {}
