//! Paging of lists.

use crate::model::ValidationError;

/// Which page of a list to return; pages count from 0, as in Spring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

impl PageRequest {
    /// Largest page size served.
    pub const MAX_SIZE: u32 = 500;
    /// Page size when none is asked for.
    pub const DEFAULT_SIZE: u32 = 20;

    /// Checks that `1 ≤ size ≤ MAX_SIZE`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `size` otherwise.
    pub fn new(page: u32, size: u32) -> Result<Self, ValidationError> {
        if size == 0 || size > Self::MAX_SIZE {
            return Err(ValidationError::new(
                "size",
                format!("must be between 1 and {}", Self::MAX_SIZE),
            ));
        }
        Ok(Self { page, size })
    }

    /// Page number, from 0.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Page size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Index of the first item of the page.
    pub fn offset(&self) -> usize {
        self.page as usize * self.size as usize
    }

    /// Cuts one page out of a complete list.
    pub fn slice<T>(&self, all: Vec<T>) -> Page<T> {
        let total = all.len() as u64;
        let items = all.into_iter().skip(self.offset()).take(self.size as usize).collect();
        Page { items, request: *self, total }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 0, size: Self::DEFAULT_SIZE }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The request that produced it.
    pub request: PageRequest,
    /// Number of items in the whole list.
    pub total: u64,
}

impl<T> Page<T> {
    /// Number of pages in the whole list.
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.size()))
    }

    /// Maps the items, keeping the paging.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            request: self.request,
            total: self.total,
        }
    }
}
